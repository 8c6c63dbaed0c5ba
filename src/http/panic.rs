//! The last line of defence: a handler that panics answers a logged `500` problem, like any other
//! internal error, instead of dropping the connection (which a client cannot tell from a network
//! fault, and which no test or dashboard would count as a server error).

use std::any::Any;

use axum::body::Body;
use axum::http::Response;
use axum::response::IntoResponse;
use tower_http::catch_panic::{CatchPanicLayer, ResponseForPanic};

use crate::error::ApiError;

/// Turns a panic's payload into the `internal` problem, logging what it said.
#[derive(Debug, Clone, Copy, Default)]
pub struct PanicToProblem;

impl ResponseForPanic for PanicToProblem {
    type ResponseBody = Body;

    fn response_for_panic(&mut self, payload: Box<dyn Any + Send + 'static>) -> Response<Body> {
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("a panic without a message");
        ApiError::internal(format_args!("a handler panicked: {message}")).into_response()
    }
}

/// The layer the router wraps every route in.
pub fn catch_panics() -> CatchPanicLayer<PanicToProblem> {
    CatchPanicLayer::custom(PanicToProblem)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use axum::Router;
    use axum::body::to_bytes;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use tower::ServiceExt;

    use super::catch_panics;

    #[tokio::test]
    async fn a_panicking_handler_answers_an_internal_problem() {
        async fn counts_on_a_value() -> &'static str {
            panic!("a value the handler counted on")
        }
        let app = Router::new()
            .route("/boom", get(counts_on_a_value))
            .layer(catch_panics());

        let response = app
            .oneshot(
                Request::get("/boom")
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();

        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let body = to_bytes(response.into_body(), 4_096).await.unwrap();
        let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(problem["code"], "internal");
        assert!(
            !problem["detail"].as_str().unwrap().contains("counted on"),
            "the panic's message is logged, never sent: {problem}"
        );
    }
}
