//! The HTTP ceiling of a machine: an axum route that answers `POST /` with 200 and nothing else,
//! on the same runtime as the server. Load tests run it beside waitroom as their baseline.
//!
//! `cargo run --release --example bare_route -- 127.0.0.1:8090`

use axum::Router;
use axum::routing::post;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listen = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8090".to_owned());
    let app = Router::new().route("/", post(|| async { "" }));
    let listener = tokio::net::TcpListener::bind(listen).await?;
    axum::serve(listener, app).await
}
