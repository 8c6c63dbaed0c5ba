//! The layers of configuration before validation: a TOML file and `WAITROOM_*` variables, both
//! read into one [`RawSettings`] of optional values, later layers overriding earlier ones.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use redis::IntoConnectionInfo;
use serde::Deserialize;

use super::secrets::{SecretKind, judge_secret};
use super::{CheckoutDurability, ConfigError, LogFormat, Settings, StoreSettings, UserKeySettings};
use crate::telemetry::redact::redact_url;

/// A list written either as a TOML array or as one comma-separated string (as in variables).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum StringList {
    Many(Vec<String>),
    One(String),
}

impl StringList {
    fn items(self) -> Vec<String> {
        let items = match self {
            Self::Many(items) => items,
            Self::One(text) => text.split(',').map(str::to_owned).collect(),
        };
        items
            .into_iter()
            .map(|item| item.trim().to_owned())
            .filter(|item| !item.is_empty())
            .collect()
    }
}

/// Settings as written, every one optional; [`RawSettings::validate`] turns them into
/// [`Settings`]. The TOML keys are the variable names without `WAITROOM_`, in lower case.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSettings {
    listen: Option<String>,
    redis_url: Option<String>,
    admin_token: Option<String>,
    dev_login: Option<bool>,
    user_jwt_secret: Option<String>,
    user_jwks_file: Option<PathBuf>,
    user_jwt_issuer: Option<String>,
    user_jwt_audience: Option<String>,
    user_jwt_any_audience: Option<bool>,
    signing_key_file: Option<PathBuf>,
    signing_kid: Option<String>,
    trusted_proxies: Option<StringList>,
    allowed_origins: Option<StringList>,
    log_format: Option<String>,
    demo: Option<bool>,
    static_dir: Option<PathBuf>,
    events_file: Option<PathBuf>,
    request_timeout_seconds: Option<u64>,
    body_limit_bytes: Option<usize>,
    max_sockets_per_identity: Option<usize>,
    max_sockets: Option<usize>,
    ratelimit: Option<toml::Table>,
    webhook_secret: Option<String>,
    checkout_durability: Option<String>,
}

impl RawSettings {
    /// Reads a TOML file. Relative paths inside it are taken relative to the working directory.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| {
            ConfigError(format!(
                "cannot read config file {}: {error}",
                path.display()
            ))
        })?;
        Self::from_toml(&text)
            .map_err(|message| ConfigError(format!("config file {}: {message}", path.display())))
    }

    /// Parses TOML text; the error is one line with the line number.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|error| {
            let line = error
                .span()
                .map(|span| text[..span.start.min(text.len())].lines().count().max(1));
            match line {
                Some(line) => format!("line {line}: {}", error.message().trim()),
                None => error.message().trim().to_owned(),
            }
        })
    }

    /// Overrides settings with the `WAITROOM_*` entries of `env`. Unknown variables are reported
    /// in `warnings`, not refused: a typo should be visible but must not stop a running fleet.
    pub fn apply_env<'a>(
        &mut self,
        env: impl IntoIterator<Item = (&'a str, &'a str)>,
        warnings: &mut Vec<String>,
    ) -> Result<(), ConfigError> {
        for (name, value) in env {
            let Some(key) = name.strip_prefix("WAITROOM_") else {
                continue;
            };
            let text = || Some(value.to_owned());
            let path = || Some(PathBuf::from(value));
            match key {
                "CONFIG" => {}
                "LISTEN" => self.listen = text(),
                "REDIS_URL" => self.redis_url = text(),
                "ADMIN_TOKEN" => self.admin_token = text(),
                "DEV_LOGIN" => self.dev_login = Some(parse_bool(name, value)?),
                "USER_JWT_SECRET" => self.user_jwt_secret = text(),
                "USER_JWKS_FILE" => self.user_jwks_file = path(),
                "USER_JWT_ISSUER" => self.user_jwt_issuer = text(),
                "USER_JWT_AUDIENCE" => self.user_jwt_audience = text(),
                "USER_JWT_ANY_AUDIENCE" => {
                    self.user_jwt_any_audience = Some(parse_bool(name, value)?)
                }
                "SIGNING_KEY_FILE" => self.signing_key_file = path(),
                "SIGNING_KID" => self.signing_kid = text(),
                "TRUSTED_PROXIES" => self.trusted_proxies = Some(StringList::One(value.into())),
                "ALLOWED_ORIGINS" => self.allowed_origins = Some(StringList::One(value.into())),
                "LOG_FORMAT" => self.log_format = text(),
                "DEMO" => self.demo = Some(parse_bool(name, value)?),
                "STATIC_DIR" => self.static_dir = path(),
                "WEBHOOK_SECRET" => self.webhook_secret = text(),
                "EVENTS_FILE" => self.events_file = path(),
                "REQUEST_TIMEOUT_SECONDS" => {
                    self.request_timeout_seconds = Some(parse_number(name, value)?)
                }
                "BODY_LIMIT_BYTES" => self.body_limit_bytes = Some(parse_number(name, value)?),
                "MAX_SOCKETS_PER_IDENTITY" => {
                    self.max_sockets_per_identity = Some(parse_number(name, value)?)
                }
                "MAX_SOCKETS" => self.max_sockets = Some(parse_number(name, value)?),
                "CHECKOUT_DURABILITY" => self.checkout_durability = text(),
                _ => warnings.push(format!("unknown setting {name} is ignored")),
            }
        }
        Ok(())
    }

    /// Checks every setting and builds [`Settings`].
    pub fn validate(self) -> Result<Settings, ConfigError> {
        let defaults = Settings::default();
        let mut warnings = Vec::new();
        let listen = match non_empty(self.listen) {
            Some(text) => text.parse::<SocketAddr>().map_err(|_| {
                ConfigError(format!(
                    "listen: {text:?} is not an address like 127.0.0.1:8080"
                ))
            })?,
            None => defaults.listen,
        };
        let store = match non_empty(self.redis_url) {
            Some(text) => StoreSettings::Redis {
                urls: redis_urls(&text)?,
            },
            None => StoreSettings::Memory,
        };
        let checkout_durability = match non_empty(self.checkout_durability).as_deref() {
            None | Some("applied") => CheckoutDurability::Applied,
            Some("replica") => CheckoutDurability::Replica,
            Some("fsync") => CheckoutDurability::Fsync,
            Some(other) => {
                return Err(ConfigError(format!(
                    "checkout_durability: {other:?} is not \"applied\", \"replica\" or \"fsync\""
                )));
            }
        };
        if checkout_durability != CheckoutDurability::Applied && store == StoreSettings::Memory {
            return Err(ConfigError(
                "checkout_durability: replica and fsync need the Redis store (redis_url)".into(),
            ));
        }
        let admin_token = non_empty(self.admin_token);
        let dev_login = self.dev_login.unwrap_or(false);
        judge_secret(
            SecretKind::AdminToken,
            admin_token.as_deref(),
            dev_login,
            &mut warnings,
        )?;
        let user_secret = non_empty(self.user_jwt_secret);
        judge_secret(
            SecretKind::UserSecret,
            user_secret.as_deref(),
            dev_login,
            &mut warnings,
        )?;
        let user_key = user_key(user_secret, self.user_jwks_file, dev_login)?;
        let user_jwt_audience = non_empty(self.user_jwt_audience);
        let user_jwt_any_audience = self.user_jwt_any_audience.unwrap_or(false);
        audience_rule(
            &user_key,
            user_jwt_audience.as_deref(),
            user_jwt_any_audience,
        )?;
        let trusted_proxies = self
            .trusted_proxies
            .map(StringList::items)
            .unwrap_or_default()
            .iter()
            .map(|text| parse_cidr(text))
            .collect::<Result<_, _>>()?;
        let allowed_origins = self
            .allowed_origins
            .map(StringList::items)
            .unwrap_or_default()
            .iter()
            .map(|text| parse_origin(text))
            .collect::<Result<_, _>>()?;
        let log_format = match non_empty(self.log_format).as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError(format!(
                    "log_format: {other:?} is neither \"json\" nor \"pretty\""
                )));
            }
        };
        let request_timeout = match self.request_timeout_seconds {
            None => defaults.request_timeout,
            Some(seconds @ 1..=300) => Duration::from_secs(seconds),
            Some(other) => {
                return Err(ConfigError(format!(
                    "request_timeout_seconds: {other} is not between 1 and 300"
                )));
            }
        };
        let body_limit_bytes = match self.body_limit_bytes {
            None => defaults.body_limit_bytes,
            Some(bytes @ 1024..=16_777_216) => bytes,
            Some(other) => {
                return Err(ConfigError(format!(
                    "body_limit_bytes: {other} is not between 1024 and 16777216"
                )));
            }
        };
        let max_sockets_per_identity = within(
            "max_sockets_per_identity",
            self.max_sockets_per_identity,
            defaults.max_sockets_per_identity,
            1..=1_000,
        )?;
        let max_sockets = within(
            "max_sockets",
            self.max_sockets,
            defaults.max_sockets,
            1..=1_000_000,
        )?;
        Ok(Settings {
            listen,
            store,
            admin_token,
            dev_login,
            user_key,
            user_jwt_issuer: non_empty(self.user_jwt_issuer),
            user_jwt_audience,
            user_jwt_any_audience,
            signing_key_file: self.signing_key_file.filter(|p| !p.as_os_str().is_empty()),
            signing_kid: non_empty(self.signing_kid).map(|kid| kid.trim().to_owned()),
            trusted_proxies,
            allowed_origins,
            log_format,
            demo: self.demo.unwrap_or(false),
            static_dir: self
                .static_dir
                .filter(|p| !p.as_os_str().is_empty())
                .or(defaults.static_dir),
            events_file: self.events_file,
            request_timeout,
            checkout_durability,
            body_limit_bytes,
            max_sockets_per_identity,
            max_sockets,
            ratelimit: self.ratelimit,
            webhook_secret: non_empty(self.webhook_secret),
            warnings,
        })
    }
}

fn non_empty(text: Option<String>) -> Option<String> {
    text.filter(|text| !text.trim().is_empty())
}

fn parse_bool(name: &str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" | "" => Ok(false),
        _ => Err(ConfigError(format!(
            "{name}: {value:?} is not true or false"
        ))),
    }
}

fn parse_number<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, ConfigError> {
    value
        .trim()
        .parse()
        .map_err(|_| ConfigError(format!("{name}: {value:?} is not a whole number")))
}

fn redis_urls(text: &str) -> Result<Vec<String>, ConfigError> {
    let urls: Vec<String> = text
        .split(',')
        .map(|url| url.trim().to_owned())
        .filter(|url| !url.is_empty())
        .collect();
    for url in &urls {
        let scheme_ok = url.starts_with("redis://") || url.starts_with("rediss://");
        if !scheme_ok || url.as_str().into_connection_info().is_err() {
            // The URL may carry the Redis password: the message names the URL without it.
            return Err(ConfigError(format!(
                "redis_url: {:?} is not a redis:// URL",
                redact_url(url)
            )));
        }
    }
    Ok(urls)
}

/// A number setting within `range`, or its default when unset.
fn within(
    name: &str,
    value: Option<usize>,
    default: usize,
    range: std::ops::RangeInclusive<usize>,
) -> Result<usize, ConfigError> {
    match value {
        None => Ok(default),
        Some(value) if range.contains(&value) => Ok(value),
        Some(other) => Err(ConfigError(format!(
            "{name}: {other} is not between {} and {}",
            range.start(),
            range.end()
        ))),
    }
}

/// A shared identity provider's JWKS signs tokens for every client it serves: without an
/// audience to check, a token issued for another application would be accepted here. So a JWKS
/// requires `user_jwt_audience`, or an explicit `user_jwt_any_audience = true`.
fn audience_rule(
    user_key: &UserKeySettings,
    audience: Option<&str>,
    any_audience: bool,
) -> Result<(), ConfigError> {
    match (user_key, audience, any_audience) {
        (_, Some(_), true) => Err(ConfigError(
            "user_jwt_audience and user_jwt_any_audience are both set: choose one".to_owned(),
        )),
        (UserKeySettings::JwksFile(_), None, false) => Err(ConfigError(
            "user_jwks_file needs user_jwt_audience (WAITROOM_USER_JWT_AUDIENCE), the `aud` your \
             identity provider gives this waiting room's tokens, or user_jwt_any_audience = true \
             to accept tokens issued for any client"
                .to_owned(),
        )),
        _ => Ok(()),
    }
}

fn user_key(
    secret: Option<String>,
    jwks_file: Option<PathBuf>,
    dev_login: bool,
) -> Result<UserKeySettings, ConfigError> {
    let jwks_file = jwks_file.filter(|path| !path.as_os_str().is_empty());
    match (secret, jwks_file) {
        (Some(_), Some(_)) => Err(ConfigError(
            "user_jwt_secret and user_jwks_file are both set: choose one way to verify user tokens"
                .to_owned(),
        )),
        (None, Some(_)) if dev_login => Err(ConfigError(
            "dev_login signs user tokens with the HS256 secret, so it cannot be used with user_jwks_file"
                .to_owned(),
        )),
        (None, Some(path)) => Ok(UserKeySettings::JwksFile(path)),
        (Some(secret), None) => Ok(UserKeySettings::Secret(secret)),
        (None, None) if dev_login => Ok(UserKeySettings::RandomSecret),
        (None, None) => Ok(UserKeySettings::None),
    }
}

fn parse_cidr(text: &str) -> Result<IpNet, ConfigError> {
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| ConfigError(format!("trusted_proxies: {text:?} is not a CIDR or an IP")))
}

fn parse_origin(text: &str) -> Result<String, ConfigError> {
    let origin = text.trim_end_matches('/');
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains('/') => Ok(origin.to_ascii_lowercase()),
        _ => Err(ConfigError(format!(
            "allowed_origins: {text:?} is not an origin like https://shop.example"
        ))),
    }
}

#[cfg(test)]
mod tests;
