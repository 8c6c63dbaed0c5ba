//! Whose budget a rule charges: `client`, `user`, `api_key` or `ip`, optionally `+endpoint`.

/// Whose budget a rule charges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyIdentity {
    /// The user, else the API key, else the IP.
    Client,
    /// The user (the IP when not signed in).
    User,
    /// The API key (the IP when none is sent).
    ApiKey,
    /// The IP.
    Ip,
}

/// A rule's key: an identity, per endpoint or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    /// Whose budget.
    pub identity: KeyIdentity,
    /// One budget per endpoint (method and path pattern) instead of one for the rule.
    pub per_endpoint: bool,
}

impl KeySpec {
    /// Parses `client`, `user`, `api_key`, `ip`, each optionally with `+endpoint`.
    pub fn parse(text: &str) -> Result<KeySpec, String> {
        let (identity, per_endpoint) = match text.split_once('+') {
            Some((identity, "endpoint")) => (identity, true),
            Some((_, other)) => return Err(format!("unknown key part `{other}` (use endpoint)")),
            None => (text, false),
        };
        let identity = match identity {
            "client" => KeyIdentity::Client,
            "user" => KeyIdentity::User,
            "api_key" => KeyIdentity::ApiKey,
            "ip" => KeyIdentity::Ip,
            other => {
                return Err(format!(
                    "unknown key `{other}` (use client, user, api_key or ip, optionally +endpoint)"
                ));
            }
        };
        Ok(KeySpec {
            identity,
            per_endpoint,
        })
    }
}
