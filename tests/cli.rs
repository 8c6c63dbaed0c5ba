//! The binary: a bad setting stops start-up with one line and exit code 2, never a panic trace.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

fn waitroom(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_waitroom"));
    command.args(args).env_remove("WAITROOM_CONFIG");
    for (key, _) in std::env::vars().filter(|(key, _)| key.starts_with("WAITROOM_")) {
        command.env_remove(key);
    }
    command
        .envs(env.iter().copied())
        .output()
        .expect("run waitroom")
}

fn assert_refused(output: &Output, mentions: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains(mentions), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_bad_variable_stops_start_up_with_one_line_and_exit_code_2() {
    let output = waitroom(&["serve"], &[("WAITROOM_REDIS_URL", "mysql://nope")]);
    assert_refused(&output, "redis_url");
}

#[test]
fn an_unparseable_config_file_stops_start_up_with_one_line_and_exit_code_2() {
    let path = std::env::temp_dir().join(format!("waitroom-{}.toml", uuid::Uuid::new_v4()));
    std::fs::write(&path, "listen = [\n").unwrap();
    let output = waitroom(&["--config", path.to_str().unwrap()], &[]);
    assert_refused(&output, "line");
    let _ = std::fs::remove_file(path);
}

#[test]
fn a_missing_config_file_stops_start_up_with_one_line() {
    let output = waitroom(
        &["serve"],
        &[("WAITROOM_CONFIG", "/nonexistent/waitroom.toml")],
    );
    assert_refused(&output, "/nonexistent/waitroom.toml");
}

#[test]
fn a_bad_signing_key_file_stops_start_up_with_one_line_and_exit_code_2() {
    let path = std::env::temp_dir().join(format!("waitroom-{}.pem", uuid::Uuid::new_v4()));
    std::fs::write(&path, "not a key").unwrap();
    let output = waitroom(
        &["serve"],
        &[
            ("WAITROOM_SIGNING_KEY_FILE", path.to_str().unwrap()),
            ("WAITROOM_LISTEN", "127.0.0.1:0"),
        ],
    );
    assert_refused(&output, "signing key file");
    let _ = std::fs::remove_file(path);
}

#[test]
fn keygen_prints_a_key_the_server_accepts() {
    let output = waitroom(&["keygen"], &[]);
    assert!(output.status.success());
    let pem = String::from_utf8(output.stdout).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(waitroom::admission::SigningKeys::from_pem(&pem).is_ok());
}

/// A strong secret nobody has seen: 64 hex characters.
fn fresh_secret() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

#[test]
fn a_production_server_refuses_a_short_admin_token() {
    let output = waitroom(
        &["serve"],
        &[
            ("WAITROOM_ADMIN_TOKEN", "twenty-three-characters"),
            ("WAITROOM_LISTEN", "127.0.0.1:0"),
        ],
    );
    assert_refused(&output, "admin_token");
    assert!(String::from_utf8_lossy(&output.stderr).contains("shorter than 24"));
}

#[test]
fn a_production_server_refuses_a_short_user_token_secret() {
    let output = waitroom(
        &["serve"],
        &[
            (
                "WAITROOM_USER_JWT_SECRET",
                "thirty-one-bytes-is-not-enough!",
            ),
            ("WAITROOM_LISTEN", "127.0.0.1:0"),
        ],
    );
    assert_refused(&output, "user_jwt_secret");
    assert!(String::from_utf8_lossy(&output.stderr).contains("shorter than 32"));
}

#[test]
fn a_production_server_refuses_the_example_secrets_of_its_own_files() {
    let long_enough_but_known = [
        ("WAITROOM_ADMIN_TOKEN", "test-admin-token-0123456789"),
        (
            "WAITROOM_USER_JWT_SECRET",
            "load-secret-0123456789abcdef0123456789",
        ),
        ("WAITROOM_ADMIN_TOKEN", "change-me"),
        ("WAITROOM_USER_JWT_SECRET", "change-me-too"),
    ];
    for (variable, value) in long_enough_but_known {
        let output = waitroom(
            &["serve"],
            &[(variable, value), ("WAITROOM_LISTEN", "127.0.0.1:0")],
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_refused(&output, "example value");
        assert!(
            !stderr.contains(value),
            "the message repeats the secret: {stderr}"
        );
    }
}

#[test]
fn a_jwks_without_an_audience_is_refused_unless_any_audience_is_chosen() {
    let path = std::env::temp_dir().join(format!("waitroom-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&path, r#"{"keys":[]}"#).unwrap();
    let jwks = path.to_str().unwrap();
    let output = waitroom(
        &["serve"],
        &[
            ("WAITROOM_USER_JWKS_FILE", jwks),
            ("WAITROOM_LISTEN", "127.0.0.1:0"),
        ],
    );
    assert_refused(&output, "user_jwt_audience");
    let output = waitroom(
        &["serve"],
        &[
            ("WAITROOM_USER_JWKS_FILE", jwks),
            ("WAITROOM_USER_JWT_ANY_AUDIENCE", "true"),
            ("WAITROOM_USER_JWT_AUDIENCE", "shop"),
            ("WAITROOM_LISTEN", "127.0.0.1:0"),
        ],
    );
    assert_refused(&output, "both set");
    let _ = std::fs::remove_file(path);
}

#[test]
fn a_signing_kid_that_names_no_key_of_the_file_is_refused() {
    let path = std::env::temp_dir().join(format!("waitroom-{}.pem", uuid::Uuid::new_v4()));
    std::fs::write(
        &path,
        waitroom::admission::SigningKeys::generate_pem().unwrap(),
    )
    .unwrap();
    let output = waitroom(
        &["serve"],
        &[
            ("WAITROOM_SIGNING_KEY_FILE", path.to_str().unwrap()),
            ("WAITROOM_SIGNING_KID", "retired-key"),
            ("WAITROOM_LISTEN", "127.0.0.1:0"),
        ],
    );
    assert_refused(&output, "retired-key");
    let _ = std::fs::remove_file(path);
}

#[test]
fn a_bad_redis_url_is_named_without_its_password() {
    let output = waitroom(
        &["serve"],
        &[(
            "WAITROOM_REDIS_URL",
            "redis://:hunter2-password@127.0.0.1:notaport/",
        )],
    );
    assert_refused(&output, "redis_url");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("hunter2-password"), "{stderr}");
    assert!(stderr.contains("***"), "{stderr}");
}

#[test]
fn a_redis_that_never_answers_is_reported_without_its_password() {
    // A socket that accepts connections and never answers: connecting times out.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "redis://:hunter2-password@{}/",
        silent.local_addr().unwrap()
    );
    let secret = fresh_secret();
    let output = waitroom(
        &["serve"],
        &[
            ("WAITROOM_REDIS_URL", url.as_str()),
            ("WAITROOM_ADMIN_TOKEN", secret.as_str()),
            ("WAITROOM_LISTEN", "127.0.0.1:0"),
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("redis"), "{stderr}");
    assert!(!stderr.contains("hunter2-password"), "{stderr}");
    drop(silent);
}

#[test]
fn dev_mode_starts_with_the_demo_s_weak_admin_token() {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_waitroom"))
        .env_remove("WAITROOM_CONFIG")
        .envs([
            ("WAITROOM_DEV_LOGIN", "true"),
            ("WAITROOM_ADMIN_TOKEN", "demo-admin-token"),
            ("WAITROOM_LISTEN", "127.0.0.1:0"),
            ("WAITROOM_LOG_FORMAT", "json"),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run waitroom");
    let stdout = child.stdout.take().unwrap();
    let listening = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .take(50)
        .any(|line| line.contains("waitroom listening on"));
    let _ = child.kill();
    let _ = child.wait();
    assert!(listening, "the dev-mode server started");
}

#[test]
fn a_checkout_durability_the_store_cannot_give_stops_start_up() {
    let unknown = waitroom(
        &["serve"],
        &[("WAITROOM_CHECKOUT_DURABILITY", "eventually")],
    );
    assert_refused(&unknown, "checkout_durability");
    let without_redis = waitroom(&["serve"], &[("WAITROOM_CHECKOUT_DURABILITY", "replica")]);
    assert_refused(&without_redis, "need the Redis store");
}
