//! An event's page branding (the `page` setting): the title, message, logo, colours and footer
//! links the queue and checkout pages show in place of the defaults.
//!
//! Everything here ends up on a shopper's screen, so it is bounded and checked on the way in:
//! texts have a length limit and are shown as text (never as HTML), links are `https` only and
//! the logo is `https` or a path on this site, so no `javascript:` or `data:` address can reach a
//! page. The colours the pages use are [`PageBranding::shopper_colors`], which replaces a pair
//! the operator chose that would be hard to read.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::color::{Rgb, readable_ink};

/// Most characters of a page title.
pub const MAX_TITLE_CHARS: usize = 200;
/// Most characters of the page message.
pub const MAX_MESSAGE_CHARS: usize = 2000;
/// Most characters of a link label.
pub const MAX_LABEL_CHARS: usize = 100;
/// Most characters of a URL.
pub const MAX_URL_CHARS: usize = 2000;
/// Most languages one text is given in.
pub const MAX_LANGUAGES: usize = 30;
/// Most footer links.
pub const MAX_LINKS: usize = 5;

/// How an event's pages look, as the operator set it.
#[derive(
    Debug, Clone, PartialEq, Default, Serialize, Deserialize, garde::Validate, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct PageBranding {
    /// The page's heading, in place of the event's name.
    #[garde(inner(custom(text_within(MAX_TITLE_CHARS))))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<LocalText>,
    /// A paragraph under the heading.
    #[garde(inner(custom(text_within(MAX_MESSAGE_CHARS))))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<LocalText>,
    /// The logo: an `https` URL, or a path on this site starting with `/`.
    #[garde(inner(custom(valid_logo_url)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 2000, example = "https://shop.example/logo.svg")]
    pub logo_url: Option<String>,
    /// The page's colours.
    #[garde(skip)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colors: Option<PageColors>,
    /// Links in the page's footer (at most 5).
    #[garde(length(max = MAX_LINKS), dive)]
    #[serde(default)]
    #[schema(max_items = 5)]
    pub links: Vec<PageLink>,
}

/// A text for shoppers: one string for every language, or one per language code (`en`, `fr`,
/// `pt-BR`, …); a page shows the shopper's language, else English, else any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum LocalText {
    /// The same text in every language.
    Everywhere(String),
    /// The text per language code.
    PerLanguage(BTreeMap<String, String>),
}

/// The three colours an operator picks, each `#rrggbb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PageColors {
    /// Buttons and highlights.
    #[schema(value_type = String, pattern = "^#[0-9a-fA-F]{6}$", example = "#2456c9")]
    pub primary: Rgb,
    /// The page behind the text.
    #[schema(value_type = String, pattern = "^#[0-9a-fA-F]{6}$", example = "#ffffff")]
    pub background: Rgb,
    /// The text.
    #[schema(value_type = String, pattern = "^#[0-9a-fA-F]{6}$", example = "#1c2430")]
    pub text: Rgb,
}

/// A footer link.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, garde::Validate, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct PageLink {
    /// What the link says.
    #[garde(custom(text_within(MAX_LABEL_CHARS)))]
    pub label: LocalText,
    /// Where it goes: an `https` URL.
    #[garde(custom(valid_link_url))]
    #[schema(max_length = 2000, example = "https://shop.example/help")]
    pub url: String,
}

/// The colours a page paints with: the operator's, except where a pair would not reach WCAG AA
/// contrast (4.5:1), where the text becomes black or white.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ShopperColors {
    /// Buttons and highlights.
    #[schema(value_type = String, example = "#2456c9")]
    pub primary: Rgb,
    /// Text on `primary` (the buttons' labels).
    #[schema(value_type = String, example = "#ffffff")]
    pub on_primary: Rgb,
    /// The page behind the text.
    #[schema(value_type = String, example = "#ffffff")]
    pub background: Rgb,
    /// The text, readable on `background`.
    #[schema(value_type = String, example = "#1c2430")]
    pub text: Rgb,
    /// Whether a colour the operator chose was replaced to keep the text readable.
    pub adjusted: bool,
}

impl PageColors {
    /// The colours to paint with (see [`ShopperColors`]). Button labels take the background
    /// colour when it reads well on `primary`, as a page's own palette would.
    pub fn for_shoppers(self) -> ShopperColors {
        let text = readable_ink(self.text, self.background);
        let on_primary = readable_ink(self.background, self.primary);
        ShopperColors {
            primary: self.primary,
            on_primary,
            background: self.background,
            text,
            adjusted: text != self.text || on_primary != self.background,
        }
    }
}

/// The branding as `GET /v1/events/{event}` sends it: the texts and links as set, the colours
/// made readable.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ShopperPage {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<LocalText>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<LocalText>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub colors: Option<ShopperColors>,
    pub links: Vec<PageLink>,
}

impl PageBranding {
    /// What the shoppers' pages are sent.
    pub fn for_shoppers(&self) -> ShopperPage {
        ShopperPage {
            title: self.title.clone(),
            message: self.message.clone(),
            logo_url: self.logo_url.clone(),
            colors: self.colors.map(PageColors::for_shoppers),
            links: self.links.clone(),
        }
    }
}

/// A garde check that a text (each of its languages) is 1 to `most` characters, under at most
/// [`MAX_LANGUAGES`] well-formed language codes.
fn text_within(most: usize) -> impl FnOnce(&LocalText, &()) -> garde::Result {
    move |text, _| {
        let within = |value: &str| {
            let count = value.chars().count();
            if count == 0 || count > most {
                Err(garde::Error::new(format!("must be 1 to {most} characters")))
            } else if value.chars().any(|c| c.is_control() && c != '\n') {
                Err(garde::Error::new("must not hold control characters"))
            } else {
                Ok(())
            }
        };
        match text {
            LocalText::Everywhere(value) => within(value),
            LocalText::PerLanguage(values) => {
                if values.is_empty() || values.len() > MAX_LANGUAGES {
                    return Err(garde::Error::new(format!(
                        "give 1 to {MAX_LANGUAGES} languages"
                    )));
                }
                for (code, value) in values {
                    if !is_language_code(code) {
                        return Err(garde::Error::new(format!(
                            "{code:?} is not a language code like en or pt-BR"
                        )));
                    }
                    within(value).map_err(|e| garde::Error::new(format!("{code}: {e}")))?;
                }
                Ok(())
            }
        }
    }
}

/// `en`, `fil`, `pt-BR`, `zh-Hant`: a primary code of 2 or 3 lower-case letters, then at most
/// one subtag of 2 to 8 letters or digits.
fn is_language_code(code: &str) -> bool {
    let mut parts = code.split('-');
    let primary = parts.next().unwrap_or_default();
    let primary_ok =
        (2..=3).contains(&primary.len()) && primary.bytes().all(|b| b.is_ascii_lowercase());
    let rest: Vec<&str> = parts.collect();
    primary_ok
        && rest.len() <= 1
        && rest
            .iter()
            .all(|s| (2..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Whether `text` is an absolute `https` URL with a host and no user name or password.
///
/// Blanks and control characters are refused before parsing: a URL parser quietly drops tabs
/// and newlines, which would let `java\tscript:` style tricks past a check of the parsed form.
fn is_https_url(text: &str) -> bool {
    if text
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
    {
        return false;
    }
    match url::Url::parse(text) {
        Ok(url) => {
            url.scheme() == "https"
                && url.host_str().is_some_and(|host| !host.is_empty())
                && url.username().is_empty()
                && url.password().is_none()
        }
        Err(_) => false,
    }
}

/// A path on this site: starts with one `/` (not `//`, which names another host), and holds
/// only the characters a path may.
fn is_site_path(text: &str) -> bool {
    text.starts_with('/')
        && !text.starts_with("//")
        && text
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '\\' | '"' | '\'' | '<' | '>' | '`'))
}

fn within_url_length(text: &str) -> garde::Result {
    if text.chars().count() > MAX_URL_CHARS {
        Err(garde::Error::new(format!(
            "must be at most {MAX_URL_CHARS} characters"
        )))
    } else {
        Ok(())
    }
}

fn valid_logo_url(text: &str, _: &()) -> garde::Result {
    within_url_length(text)?;
    if is_https_url(text) || is_site_path(text) {
        Ok(())
    } else {
        Err(garde::Error::new(
            "must be an https URL or a path on this site starting with /",
        ))
    }
}

fn valid_link_url(text: &str, _: &()) -> garde::Result {
    within_url_length(text)?;
    if is_https_url(text) {
        Ok(())
    } else {
        Err(garde::Error::new("must be an https URL"))
    }
}

impl<'de> Deserialize<'de> for LocalText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;

        impl<'de> Visitor<'de> for TextVisitor {
            type Value = LocalText;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, or an object of language code to string")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<LocalText, E> {
                Ok(LocalText::Everywhere(value.to_owned()))
            }

            fn visit_string<E: de::Error>(self, value: String) -> Result<LocalText, E> {
                Ok(LocalText::Everywhere(value))
            }

            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<LocalText, M::Error> {
                let mut values = BTreeMap::new();
                while let Some((code, value)) = map.next_entry::<String, String>()? {
                    values.insert(code, value);
                }
                Ok(LocalText::PerLanguage(values))
            }
        }

        deserializer.deserialize_any(TextVisitor)
    }
}

#[cfg(test)]
mod tests {
    use garde::Validate;

    use super::*;

    fn branding(json: serde_json::Value) -> PageBranding {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_text_is_one_string_or_one_per_language() {
        let page = branding(serde_json::json!({
            "title": "Drop", "message": {"en": "Hello", "ar": "مرحبا"}
        }));
        assert_eq!(page.title, Some(LocalText::Everywhere("Drop".into())));
        assert!(matches!(page.message, Some(LocalText::PerLanguage(ref m)) if m.len() == 2));
        assert!(page.validate().is_ok());
    }

    #[test]
    fn only_https_or_a_site_path_is_a_logo() {
        for good in ["https://cdn.example/logo.png", "/static/logo.svg"] {
            assert!(valid_logo_url(good, &()).is_ok(), "{good}");
        }
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:image/png;base64,AAAA",
            "http://cdn.example/logo.png",
            "//evil.example/logo.png",
            "https://user:pw@cdn.example/logo.png",
            "https://cdn.example/lo go.png",
            "java\tscript:alert(1)",
            "/\\evil.example",
            "logo.png",
            "",
        ] {
            assert!(valid_logo_url(bad, &()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn links_must_be_https() {
        assert!(valid_link_url("https://shop.example/help", &()).is_ok());
        for bad in [
            "/help",
            "http://shop.example",
            "mailto:a@b.example",
            "javascript:x",
        ] {
            assert!(valid_link_url(bad, &()).is_err(), "{bad}");
        }
    }

    #[test]
    fn language_codes_are_checked() {
        for good in ["en", "fil", "pt-BR", "zh-Hant"] {
            assert!(is_language_code(good), "{good}");
        }
        for bad in ["", "EN", "e", "english", "en-", "en-US-x", "en_US", "<b>"] {
            assert!(!is_language_code(bad), "{bad}");
        }
    }

    #[test]
    fn texts_are_bounded() {
        let check = text_within(5);
        assert!(check(&LocalText::Everywhere("12345".into()), &()).is_ok());
        let check = text_within(5);
        assert!(check(&LocalText::Everywhere("123456".into()), &()).is_err());
        let check = text_within(5);
        assert!(check(&LocalText::Everywhere(String::new()), &()).is_err());
        let check = text_within(5);
        assert!(check(&LocalText::PerLanguage(BTreeMap::new()), &()).is_err());
    }

    #[test]
    fn readable_colours_pass_unchanged() {
        let colors = PageColors {
            primary: Rgb::parse("#2456c9").unwrap(),
            background: Rgb::WHITE,
            text: Rgb::parse("#1c2430").unwrap(),
        };
        let painted = colors.for_shoppers();
        assert_eq!(painted.text, colors.text);
        assert_eq!(painted.on_primary, Rgb::WHITE);
        assert!(!painted.adjusted);
    }

    #[test]
    fn unreadable_colours_are_replaced() {
        let colors = PageColors {
            primary: Rgb::parse("#ffeb3b").unwrap(),
            background: Rgb::parse("#fafafa").unwrap(),
            text: Rgb::parse("#cccccc").unwrap(),
        };
        let painted = colors.for_shoppers();
        assert_eq!(painted.text, Rgb::BLACK);
        assert_eq!(painted.on_primary, Rgb::BLACK);
        assert!(painted.adjusted);
    }
}
