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
