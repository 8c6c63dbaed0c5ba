use super::*;

/// A file, the environment, and a word the refusal must contain.
type Case<'a> = (Option<&'a str>, &'a [(&'a str, &'a str)], &'a str);

fn load(file: Option<&str>, env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let mut raw = match file {
        Some(text) => RawSettings::from_toml(text).map_err(ConfigError)?,
        None => RawSettings::default(),
    };
    let mut warnings = Vec::new();
    raw.apply_env(env.iter().copied(), &mut warnings)?;
    let mut settings = raw.validate()?;
    settings.warnings.extend(warnings);
    Ok(settings)
}

#[test]
fn nothing_configured_gives_the_documented_defaults() {
    let settings = load(None, &[]).unwrap();
    assert_eq!(settings.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(settings.store, StoreSettings::Memory);
    assert_eq!(settings.admin_token, None);
    assert!(!settings.dev_login);
    assert_eq!(settings.user_key, UserKeySettings::None);
}

#[test]
fn variables_override_the_file() {
    let file = "listen = \"127.0.0.1:9000\"\nadmin_token = \"from-the-file-0123\"\n";
    let settings = load(
        Some(file),
        &[
            ("WAITROOM_ADMIN_TOKEN", "from-the-environment-0123456789"),
            ("PATH", "/bin"),
        ],
    )
    .unwrap();
    assert_eq!(settings.listen.to_string(), "127.0.0.1:9000");
    assert_eq!(
        settings.admin_token.as_deref(),
        Some("from-the-environment-0123456789")
    );
}

#[test]
fn lists_are_arrays_in_the_file_and_commas_in_variables() {
    let file = "trusted_proxies = [\"10.0.0.0/8\", \"192.168.1.1\"]\n";
    let settings = load(
        Some(file),
        &[(
            "WAITROOM_ALLOWED_ORIGINS",
            "https://shop.example/, http://localhost:3000",
        )],
    )
    .unwrap();
    assert_eq!(settings.trusted_proxies.len(), 2);
    assert_eq!(
        settings.allowed_origins,
        vec!["https://shop.example", "http://localhost:3000"]
    );
}

#[test]
fn a_comma_separated_redis_url_is_a_cluster() {
    let settings = load(
        None,
        &[(
            "WAITROOM_REDIS_URL",
            "redis://127.0.0.1:7000,redis://127.0.0.1:7001",
        )],
    )
    .unwrap();
    let StoreSettings::Redis { urls } = settings.store else {
        panic!("expected the Redis store");
    };
    assert_eq!(urls.len(), 2);
}

#[test]
fn bad_settings_are_refused_with_one_line_naming_them() {
    let cases: &[Case] = &[
        (None, &[("WAITROOM_LISTEN", "localhost")], "listen"),
        (None, &[("WAITROOM_REDIS_URL", "http://x")], "redis_url"),
        (
            None,
            &[("WAITROOM_DEV_LOGIN", "maybe")],
            "WAITROOM_DEV_LOGIN",
        ),
        (
            None,
            &[("WAITROOM_TRUSTED_PROXIES", "10.0.0.0/99")],
            "trusted_proxies",
        ),
        (None, &[("WAITROOM_LOG_FORMAT", "xml")], "log_format"),
        (
            None,
            &[("WAITROOM_REQUEST_TIMEOUT_SECONDS", "0")],
            "request_timeout",
        ),
        (Some("lisen = \"x\""), &[], "lisen"),
        (Some("listen = "), &[], "line 1"),
        (
            None,
            &[
                (
                    "WAITROOM_USER_JWT_SECRET",
                    "an-unguessable-secret-of-forty-two-bytes!!",
                ),
                ("WAITROOM_USER_JWKS_FILE", "keys.json"),
            ],
            "both set",
        ),
    ];
    for (file, env, expected) in cases {
        let error = load(*file, env).unwrap_err();
        assert!(
            error.0.contains(expected),
            "{error} does not mention {expected}"
        );
        assert!(!error.0.contains('\n'), "{error:?} is more than one line");
    }
}

#[test]
fn dev_login_without_a_secret_makes_a_random_one() {
    let settings = load(None, &[("WAITROOM_DEV_LOGIN", "true")]).unwrap();
    assert_eq!(settings.user_key, UserKeySettings::RandomSecret);
}

#[test]
fn unknown_variables_are_warned_about_not_refused() {
    let settings = load(None, &[("WAITROOM_ADMIN_TOKN", "x")]).unwrap();
    assert!(
        settings
            .warnings
            .iter()
            .any(|w| w.contains("WAITROOM_ADMIN_TOKN"))
    );
}

#[test]
fn the_demo_config_is_valid() {
    let text = include_str!("../../../config/demo.toml");
    let settings = RawSettings::from_toml(text).unwrap().validate().unwrap();
    assert!(settings.demo);
    assert!(settings.dev_login);
    assert_eq!(settings.store, StoreSettings::Memory);
}

#[test]
fn a_jwks_needs_an_audience_or_an_explicit_opt_out() {
    let jwks = [("WAITROOM_USER_JWKS_FILE", "idp.json")];
    let error = load(None, &jwks).unwrap_err();
    assert!(error.0.contains("user_jwt_audience"), "{error}");
    let audience = load(None, &[jwks[0], ("WAITROOM_USER_JWT_AUDIENCE", "waitroom")]).unwrap();
    assert_eq!(audience.user_jwt_audience.as_deref(), Some("waitroom"));
    let any = load(None, &[jwks[0], ("WAITROOM_USER_JWT_ANY_AUDIENCE", "true")]).unwrap();
    assert!(any.user_jwt_any_audience);
}

#[test]
fn socket_caps_have_defaults_and_bounds() {
    let settings = load(None, &[]).unwrap();
    assert_eq!(settings.max_sockets_per_identity, 5);
    assert_eq!(settings.max_sockets, 16_000);
    let set = load(
        Some("max_sockets_per_identity = 2\nmax_sockets = 100\n"),
        &[("WAITROOM_MAX_SOCKETS", "50")],
    )
    .unwrap();
    assert_eq!((set.max_sockets_per_identity, set.max_sockets), (2, 50));
    let error = load(None, &[("WAITROOM_MAX_SOCKETS_PER_IDENTITY", "0")]).unwrap_err();
    assert!(error.0.contains("max_sockets_per_identity"), "{error}");
}
