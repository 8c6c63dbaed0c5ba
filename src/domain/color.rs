//! Colours as operators give them (`#rrggbb`) and the WCAG 2 contrast arithmetic that keeps a
//! branded page readable.
//!
//! The contrast ratio is WCAG 2.2's: `(L1 + 0.05) / (L2 + 0.05)` of the relative luminances of
//! the lighter and the darker colour, from 1 (the same colour) to 21 (black on white). Normal text
//! needs at least 4.5 (level AA).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Contrast WCAG 2 level AA asks of normal text.
pub const AA_TEXT_CONTRAST: f64 = 4.5;

/// A colour in sRGB, written `#rrggbb` (lower case once parsed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Rgb {
    red: u8,
    green: u8,
    blue: u8,
}

/// A colour that is not `#rrggbb`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a colour like #1a2b3c (# and six hex digits)")]
pub struct InvalidColor;

impl Rgb {
    /// Black, `#000000`.
    pub const BLACK: Self = Self::new(0, 0, 0);
    /// White, `#ffffff`.
    pub const WHITE: Self = Self::new(255, 255, 255);

    /// The colour with these channels.
    pub const fn new(red: u8, green: u8, blue: u8) -> Self {
        Self { red, green, blue }
    }

    /// Parses `#rrggbb` (either case); nothing else (no `#rgb`, no names, no spaces).
    pub fn parse(text: &str) -> Result<Self, InvalidColor> {
        let hex = text.strip_prefix('#').ok_or(InvalidColor)?;
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(InvalidColor);
        }
        let channel =
            |at: usize| u8::from_str_radix(&hex[at..at + 2], 16).map_err(|_| InvalidColor);
        Ok(Self::new(channel(0)?, channel(2)?, channel(4)?))
    }

    /// WCAG 2 relative luminance, 0 (black) to 1 (white).
    pub fn relative_luminance(self) -> f64 {
        let linear = |channel: u8| {
            let c = f64::from(channel) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * linear(self.red) + 0.7152 * linear(self.green) + 0.0722 * linear(self.blue)
    }

    /// Black or white, whichever contrasts more with `self`: at least √21 ≈ 4.58, so always
    /// readable on it.
    pub fn best_ink(self) -> Self {
        if contrast_ratio(self, Self::BLACK) >= contrast_ratio(self, Self::WHITE) {
            Self::BLACK
        } else {
            Self::WHITE
        }
    }
}

/// WCAG 2 contrast ratio of two colours, 1 to 21, whichever order they come in.
pub fn contrast_ratio(a: Rgb, b: Rgb) -> f64 {
    let (la, lb) = (a.relative_luminance(), b.relative_luminance());
    let (lighter, darker) = if la >= lb { (la, lb) } else { (lb, la) };
    (lighter + 0.05) / (darker + 0.05)
}

/// `ink` if it is readable as normal text on `ground` (AA), else black or white, whichever reads
/// better there.
pub fn readable_ink(ink: Rgb, ground: Rgb) -> Rgb {
    if contrast_ratio(ink, ground) >= AA_TEXT_CONTRAST {
        ink
    } else {
        ground.best_ink()
    }
}

impl fmt::Display for Rgb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{:02x}{:02x}{:02x}", self.red, self.green, self.blue)
    }
}

impl TryFrom<String> for Rgb {
    type Error = InvalidColor;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text)
    }
}

impl From<Rgb> for String {
    fn from(color: Rgb) -> Self {
        color.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rgb(text: &str) -> Rgb {
        Rgb::parse(text).unwrap()
    }

    #[test]
    fn black_on_white_is_twenty_one_to_one() {
        assert!((contrast_ratio(Rgb::BLACK, Rgb::WHITE) - 21.0).abs() < 1e-9);
        assert!((contrast_ratio(Rgb::WHITE, Rgb::BLACK) - 21.0).abs() < 1e-9);
    }

    #[test]
    fn a_colour_on_itself_is_one_to_one() {
        assert!((contrast_ratio(rgb("#2456c9"), rgb("#2456c9")) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn known_pairs_have_the_ratios_the_wcag_formula_gives() {
        // Values as WebAIM's contrast checker reports them, to two decimals.
        let cases = [
            ("#777777", "#ffffff", 4.48),
            ("#767676", "#ffffff", 4.54),
            ("#808080", "#ffffff", 3.95),
            ("#0000ff", "#ffffff", 8.59),
            ("#ff0000", "#ffffff", 4.00),
            ("#0000ff", "#000000", 2.44),
        ];
        for (ink, ground, expected) in cases {
            let ratio = contrast_ratio(rgb(ink), rgb(ground));
            assert!(
                (ratio - expected).abs() < 0.01,
                "{ink} on {ground}: {ratio:.3}, expected {expected}"
            );
        }
    }

    #[test]
    fn luminance_uses_the_linear_segment_for_dark_channels() {
        // 10/255 ≈ 0.0392 is under the 0.04045 knee: c / 12.92 in every channel.
        let expected = (10.0 / 255.0) / 12.92;
        assert!((rgb("#0a0a0a").relative_luminance() - expected).abs() < 1e-12);
    }

    #[test]
    fn a_readable_ink_is_kept() {
        assert_eq!(readable_ink(rgb("#767676"), Rgb::WHITE), rgb("#767676"));
    }

    #[test]
    fn an_unreadable_ink_falls_back_to_black_or_white() {
        assert_eq!(readable_ink(rgb("#777777"), Rgb::WHITE), Rgb::BLACK);
        assert_eq!(readable_ink(rgb("#333333"), rgb("#000000")), Rgb::WHITE);
        assert_eq!(readable_ink(rgb("#ffff00"), rgb("#ffffee")), Rgb::BLACK);
    }

    #[test]
    fn the_best_ink_is_readable_on_every_grey() {
        for level in 0..=255u8 {
            let ground = Rgb::new(level, level, level);
            assert!(contrast_ratio(ground.best_ink(), ground) >= AA_TEXT_CONTRAST);
        }
    }

    #[test]
    fn only_hash_and_six_hex_digits_parse() {
        assert_eq!(rgb("#A0b1C2").to_string(), "#a0b1c2");
        for bad in [
            "",
            "#",
            "#fff",
            "a0b1c2",
            "#a0b1c2 ",
            "#a0b1cg",
            "red",
            "#a0b1c2ff",
            "#+1+1+1",
        ] {
            assert_eq!(Rgb::parse(bad), Err(InvalidColor), "{bad:?}");
        }
    }
}
