use std::path::{Path, PathBuf};

use super::*;

/// The text files of the repository where example settings are written (not Rust sources: their
/// test values are listed by hand).
fn example_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !matches!(
                name.as_str(),
                "target" | ".git" | "node_modules" | "results"
            ) {
                example_files(&path, found);
            }
        } else if [
            ".md",
            ".toml",
            ".yml",
            ".yaml",
            ".sh",
            ".env",
            "Dockerfile",
            "bench",
        ]
        .iter()
        .any(|ending| name.ends_with(ending))
        {
            found.push(path);
        }
    }
}

/// The literal values given to a secret setting on one line: `KEY=value`, `key = "value"`,
/// `KEY: value` and `${KEY:-value}`. Values made at run time (`$…`) are not examples.
fn secret_values(line: &str) -> Vec<String> {
    // A bare `secret` counts only as a shell assignment: prose says "secret" too.
    const KEYS: [&str; 3] = ["admin_token", "jwt_secret", "secret="];
    let lower = line.to_ascii_lowercase();
    let mut values = Vec::new();
    for key in KEYS {
        let name = key.trim_end_matches('=');
        for (at, _) in lower.match_indices(key) {
            let rest = line[at + name.len()..].trim_start();
            let Some(rest) = rest
                .strip_prefix(":-")
                .or_else(|| rest.strip_prefix('='))
                .or_else(|| rest.strip_prefix(':'))
            else {
                continue;
            };
            let rest = rest.trim_start().trim_start_matches(['"', '\'']);
            let value: String = rest
                .chars()
                .take_while(|c| !c.is_whitespace() && !"\"'}\\,)|`".contains(*c))
                .collect();
            if !value.is_empty() && !value.contains(['$', '…', '<', '/', '?', '(']) {
                values.push(value);
            }
        }
    }
    values
}

#[test]
fn every_example_secret_written_in_the_repository_is_known() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    example_files(root, &mut files);
    assert!(
        files
            .iter()
            .any(|path| path.ends_with("docker-compose.yml")),
        "the scan reads the compose file"
    );
    let mut unknown = Vec::new();
    let mut seen = 0;
    for path in files {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        for line in text.lines() {
            for value in secret_values(line) {
                seen += 1;
                if !KNOWN_SECRETS.contains(&value.as_str()) {
                    unknown.push(format!("{}: {value}", path.display()));
                }
            }
        }
    }
    assert!(
        seen >= 3,
        "the demo config, README and load notes hold examples"
    );
    assert!(
        unknown.is_empty(),
        "add these to KNOWN_SECRETS: {unknown:?}"
    );
}

#[test]
fn the_scan_reads_each_way_a_secret_is_written() {
    assert_eq!(
        secret_values("admin_token = \"demo-admin-token\""),
        ["demo-admin-token"]
    );
    assert_eq!(
        secret_values("WAITROOM_ADMIN_TOKEN=s3cret cargo run"),
        ["s3cret"]
    );
    assert_eq!(
        secret_values("X: ${WAITROOM_USER_JWT_SECRET:-change-me-too}"),
        ["change-me-too"]
    );
    assert!(secret_values("WAITROOM_ADMIN_TOKEN: ${WAITROOM_ADMIN_TOKEN:?set it}").is_empty());
    assert!(secret_values("admin_token=\"smoke-$(python3 -c 'x')\"").is_empty());
}

#[test]
fn outside_dev_mode_short_and_known_secrets_are_refused() {
    let cases = [
        (SecretKind::AdminToken, "a".repeat(23), "shorter than 24"),
        (SecretKind::UserSecret, "b".repeat(31), "shorter than 32"),
        (
            SecretKind::AdminToken,
            "test-admin-token-0123456789".to_owned(),
            "example value",
        ),
        (
            SecretKind::UserSecret,
            "CHANGE-ME".to_owned(),
            "example value",
        ),
    ];
    for (kind, value, says) in cases {
        let mut warnings = Vec::new();
        let error = judge_secret(kind, Some(&value), false, &mut warnings).unwrap_err();
        assert!(error.0.contains(says), "{error}");
        assert!(
            !error.0.contains(&value),
            "the message repeats the secret: {error}"
        );
        assert!(judge_secret(kind, Some(&value), true, &mut warnings).is_ok());
    }
    let mut warnings = Vec::new();
    assert!(
        judge_secret(
            SecretKind::AdminToken,
            Some(&"x".repeat(24)),
            false,
            &mut warnings
        )
        .is_ok()
    );
    assert!(judge_secret(SecretKind::UserSecret, None, false, &mut warnings).is_ok());
    assert!(warnings.is_empty());
}
