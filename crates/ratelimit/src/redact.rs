//! URLs as a log line or an error message may show them.
//!
//! A Redis URL carries its password (`redis://:password@host/`), and a webhook URL is itself the
//! credential (the receiver trusts whoever knows its path or query). Logs travel further than
//! settings, so what reaches them is the scheme, host and port, never the secret part.

/// What replaces a removed secret.
const HIDDEN: &str = "***";

/// `url` with any password of its user part replaced by `***` (the user name stays: it says
/// which account, not how to log in). Text that is not a URL is returned as it is.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((user_info, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    let user = match user_info.split_once(':') {
        Some((user, _password)) => format!("{user}:{HIDDEN}"),
        None if scheme.starts_with("redis") => HIDDEN.to_owned(),
        None => user_info.to_owned(),
    };
    format!("{scheme}://{user}@{host}{tail}")
}

/// Only the origin of `url` (`scheme://host[:port]`), for URLs whose path or query is the secret
/// (webhooks). Anything after the host is shown as `/***`.
pub fn url_origin(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return HIDDEN.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let tail = if authority_end < rest.len() {
        "/***"
    } else {
        ""
    };
    format!("{scheme}://{host}{tail}")
}

/// `text` with every occurrence of the passwords of `urls` replaced by `***`: for messages of
/// libraries that quote the URL they were given.
pub fn redact_passwords(text: &str, urls: &[String]) -> String {
    urls.iter()
        .filter_map(|url| password_of(url))
        .filter(|password| !password.is_empty())
        .fold(text.to_owned(), |text, password| {
            text.replace(password, HIDDEN)
        })
}

/// The password of a URL's user part, if it has one.
fn password_of(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (user_info, _) = rest[..authority_end].rsplit_once('@')?;
    Some(
        user_info
            .split_once(':')
            .map_or(user_info, |(_, password)| password),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redis_password_is_hidden_and_the_host_kept() {
        assert_eq!(
            redact_url("redis://:hunter2-long@redis.internal:6380/0"),
            "redis://:***@redis.internal:6380/0"
        );
        assert_eq!(
            redact_url("rediss://app:hunter2@10.0.0.5/"),
            "rediss://app:***@10.0.0.5/"
        );
        assert_eq!(redact_url("redis://hunter2@h/"), "redis://***@h/");
        assert_eq!(
            redact_url("redis://127.0.0.1:6379/"),
            "redis://127.0.0.1:6379/"
        );
        assert_eq!(redact_url("not a url"), "not a url");
    }

    #[test]
    fn a_webhook_shows_its_origin_only() {
        assert_eq!(
            url_origin("https://hooks.example/services/T0/B0/tok3n?key=k"),
            "https://hooks.example/***"
        );
        assert_eq!(
            url_origin("http://user:pw@127.0.0.1:9/"),
            "http://127.0.0.1:9/***"
        );
        assert_eq!(url_origin("http://127.0.0.1:9"), "http://127.0.0.1:9");
    }

    #[test]
    fn passwords_quoted_by_a_library_are_hidden() {
        let urls = vec![
            "redis://:p4ss-word@a:1/".to_owned(),
            "redis://b:2/".to_owned(),
        ];
        assert_eq!(
            redact_passwords("connecting to redis://:p4ss-word@a:1/ timed out", &urls),
            "connecting to redis://:***@a:1/ timed out"
        );
    }
}
