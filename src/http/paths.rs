//! Path parameters parsed at the edge: an id that cannot exist is a `404`, never a `500`.

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use utoipa::IntoParams;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::{ObjectBuilder, Required};

use crate::domain::{EventId, OrderId, TicketId};
use crate::error::ApiError;

/// The `{event}` of the path.
#[derive(Debug, Clone)]
pub struct EventPath(pub EventId);

/// The `{event}` and `{ticket}` of the path.
#[derive(Debug, Clone)]
pub struct TicketPath {
    pub event: EventId,
    pub ticket: TicketId,
}

/// The `{event}` and `{order}` of the path.
#[derive(Debug, Clone)]
pub struct OrderPath {
    pub event: EventId,
    pub order: OrderId,
}

async fn param<S: Send + Sync>(
    parts: &mut Parts,
    state: &S,
    name: &str,
) -> Result<String, ApiError> {
    let params = RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|_| ApiError::not_found("no such resource"))?;
    params
        .iter()
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
        .ok_or_else(|| ApiError::not_found("no such resource"))
}

async fn event<S: Send + Sync>(parts: &mut Parts, state: &S) -> Result<EventId, ApiError> {
    let text = param(parts, state, "event").await?;
    EventId::parse(&text).map_err(|_| ApiError::not_found("no such event"))
}

impl<S: Send + Sync> FromRequestParts<S> for EventPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Ok(Self(event(parts, state).await?))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for TicketPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let event = event(parts, state).await?;
        let ticket = TicketId::parse(&param(parts, state, "ticket").await?)
            .map_err(|_| ApiError::not_found("no such ticket"))?;
        Ok(Self { event, ticket })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for OrderPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let event = event(parts, state).await?;
        let order = OrderId::parse(&param(parts, state, "order").await?)
            .map_err(|_| ApiError::not_found("no such order"))?;
        Ok(Self { event, order })
    }
}

/// A path parameter of the OpenAPI document.
fn documented(name: &str, description: &str, example: Option<&str>) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(description))
        .schema(Some(
            ObjectBuilder::new().schema_type(utoipa::openapi::Type::String),
        ))
        .example(example.map(|value| serde_json::Value::String(value.to_owned())))
        .build()
}

/// The `{event}` parameter. Its example is the demo event, so generated requests also reach a
/// real event.
fn event_parameter() -> Parameter {
    documented(
        "event",
        "event id: [a-z0-9][a-z0-9-]{0,63}",
        Some(crate::config::DEMO_EVENT),
    )
}

impl IntoParams for EventPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![event_parameter()]
    }
}

impl IntoParams for TicketPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            event_parameter(),
            documented("ticket", "ticket id (UUID)", None),
        ]
    }
}

impl IntoParams for OrderPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            event_parameter(),
            documented("order", "order id (UUID)", None),
        ]
    }
}
