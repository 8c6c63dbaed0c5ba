//! Secrets a production server must not start with: short ones, and the example values written in
//! waitroom's own files (anyone who has read the repository knows those).
//!
//! Dev mode (`dev_login = true`, as in `config/demo.toml`) hands out user tokens to anyone anyway,
//! so there a weak secret is only warned about and the demo keeps working.

use super::ConfigError;

/// Fewest characters of an admin token outside dev mode.
pub const SHORTEST_ADMIN_TOKEN: usize = 24;
/// Fewest bytes of an HS256 user-token secret outside dev mode: shorter ones can be brute-forced
/// from a single token.
pub const SHORTEST_USER_SECRET: usize = 32;

/// Every admin token and user-token secret written in waitroom's own files: the README, the
/// configs, the compose file, the load scripts and the tests. A unit test reads the repository's
/// text files and fails when one of their example values is missing here.
pub const KNOWN_SECRETS: &[&str] = &[
    "change-me",
    "change-me-too",
    "demo-admin-token",
    "s3cret",
    "secret",
    "rehearsal",
    "rehearsal-secret",
    "load-admin-token",
    "load-secret-0123456789abcdef0123456789",
    "test-admin",
    "test-admin-token-0123456789",
    "test-user-secret-0123456789abcdef",
    "end-to-end-test-secret",
    "secret-secret-secret-secret-1234",
    "browser-test-admin",
    "schemathesis-admin-token",
];

/// Which secret is being judged, for the message.
#[derive(Debug, Clone, Copy)]
pub(super) enum SecretKind {
    AdminToken,
    UserSecret,
}

impl SecretKind {
    fn setting(self) -> &'static str {
        match self {
            Self::AdminToken => "admin_token (WAITROOM_ADMIN_TOKEN)",
            Self::UserSecret => "user_jwt_secret (WAITROOM_USER_JWT_SECRET)",
        }
    }

    fn shortest(self) -> usize {
        match self {
            Self::AdminToken => SHORTEST_ADMIN_TOKEN,
            Self::UserSecret => SHORTEST_USER_SECRET,
        }
    }
}

/// What is wrong with `value` as a secret of `kind`, if anything (one line, without the value).
fn weakness(kind: SecretKind, value: &str) -> Option<String> {
    let known = KNOWN_SECRETS
        .iter()
        .any(|example| example.eq_ignore_ascii_case(value.trim()));
    if known {
        return Some(format!(
            "{} is an example value from waitroom's own files: anyone can read it",
            kind.setting()
        ));
    }
    (value.len() < kind.shortest()).then(|| {
        format!(
            "{} is shorter than {} characters: easy to guess",
            kind.setting(),
            kind.shortest()
        )
    })
}

/// Refuses a weak secret outside dev mode; in dev mode it becomes a warning.
pub(super) fn judge_secret(
    kind: SecretKind,
    value: Option<&str>,
    dev_login: bool,
    warnings: &mut Vec<String>,
) -> Result<(), ConfigError> {
    let Some(problem) = value.and_then(|value| weakness(kind, value)) else {
        return Ok(());
    };
    if dev_login {
        warnings.push(format!("{problem} (accepted because dev_login is on)"));
        return Ok(());
    }
    Err(ConfigError(format!(
        "{problem}; outside dev mode waitroom refuses to start with it: make a new one with \
         `openssl rand -hex 32`"
    )))
}

#[cfg(test)]
mod tests;
