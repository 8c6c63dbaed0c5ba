//! `/metrics` read as a test reads it: series and their values, summed by name and labels.

/// `/metrics` as series (name and labels, as written) and values.
pub struct Scrape(Vec<(String, f64)>);

impl Scrape {
    pub fn parse(text: &str) -> Self {
        Scrape(
            text.lines()
                .filter(|line| line.starts_with("waitroom_"))
                .filter_map(|line| {
                    let (series, value) = line.rsplit_once(' ')?;
                    Some((series.to_owned(), value.parse().ok()?))
                })
                .collect(),
        )
    }

    /// The `/metrics` of the server at `base` (`http://host:port`).
    pub async fn from(http: &reqwest::Client, base: &str) -> Self {
        let text = http
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        Self::parse(&text)
    }

    /// The sum of `name`'s series that carry every one of `labels`.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.0
            .iter()
            .filter(|(series, _)| {
                let (series_name, rest) = series.split_once('{').unwrap_or((series, ""));
                series_name == name
                    && labels
                        .iter()
                        .all(|(label, value)| rest.contains(&format!("{label}=\"{value}\"")))
            })
            .map(|(_, value)| value)
            .sum()
    }
}
