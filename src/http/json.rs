//! The JSON body extractor: parse, then validate with garde, failing as problem JSON.
//!
//! Malformed JSON is `400 bad_request`; JSON of the wrong shape (a missing field, a string where a
//! number belongs) and values garde refuses are `422 validation_failed`, each with the JSON path
//! of the offending field. An empty body counts as `{}`, so `POST …/tickets` needs no body. The
//! body is read as JSON whatever its `Content-Type` says: `curl -d` sends a form type, and a
//! strict check would only turn working scripts away.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, FieldError};

/// A JSON body of type `T`, deserialized and validated.
#[derive(Debug, Clone)]
pub struct ValidJson<T>(pub T);

impl<T, S> FromRequest<S> for ValidJson<T>
where
    T: DeserializeOwned + garde::Validate<Context = ()>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "payload_too_large",
                        "The body is too large",
                    )
                    .detail(rejection.body_text())
                } else {
                    ApiError::bad_request(rejection.body_text())
                }
            })?;
        let value: T = parse(&bytes)?;
        value.validate().map_err(report_to_error)?;
        Ok(Self(value))
    }
}

/// Parses a JSON body (empty means `{}`) into `T`.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let message = strip_position(&inner.to_string());
                ApiError::invalid_field(field_of(&path, &message), message)
            }
            _ => ApiError::bad_request(format!("the body is not valid JSON: {inner}")),
        }
    })?;
    deserializer
        .end()
        .map_err(|error| ApiError::bad_request(format!("the body is not valid JSON: {error}")))?;
    Ok(value)
}

/// Turns garde's report into field errors.
pub fn report_to_error(report: garde::Report) -> ApiError {
    ApiError::validation(
        report
            .iter()
            .map(|(path, error)| FieldError {
                field: match path.to_string() {
                    path if path.is_empty() => "body".to_owned(),
                    path => path,
                },
                message: error.message().to_owned(),
            })
            .collect(),
    )
}

/// The field a serde error is about: its path, or for a missing field the field's own path.
fn field_of(path: &str, message: &str) -> String {
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    match (path, missing) {
        (".", Some(name)) => name.to_owned(),
        (_, Some(name)) => format!("{path}.{name}"),
        (".", None) => "body".to_owned(),
        (_, None) => path.to_owned(),
    }
}

/// serde_json appends " at line 1 column 17": noise for a field error that names its path.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    struct Items {
        #[allow(dead_code)]
        items: Vec<Item>,
    }

    #[derive(Debug, Deserialize)]
    struct Item {
        #[allow(dead_code)]
        quantity: u32,
    }

    #[test]
    fn malformed_json_is_a_bad_request() {
        let error = parse::<Items>(b"{\"items\": [").unwrap_err();
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn a_wrong_type_names_its_path() {
        let error = parse::<Items>(br#"{"items":[{"quantity":"two"}]}"#).unwrap_err();
        assert_eq!(error.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error.errors[0].field, "items[0].quantity");
    }

    #[test]
    fn a_missing_field_is_named() {
        let error = parse::<Items>(b"{}").unwrap_err();
        assert_eq!(error.errors[0].field, "items");
    }

    #[test]
    fn trailing_garbage_is_a_bad_request() {
        let error = parse::<serde_json::Value>(b"{} {}").unwrap_err();
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
    }
}
