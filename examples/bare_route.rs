//! The HTTP ceiling of this machine: a bare axum route answering `200` to every `POST` and `GET`,
//! with no state, no store and no middleware. `load/bench` measures it beside waitroom's joins.
//!
//! `cargo run --release --example bare_route -- 127.0.0.1:PORT`

use std::net::SocketAddr;

use axum::Router;
use axum::routing::any;

fn main() -> std::io::Result<()> {
    let listen: SocketAddr = match std::env::args().nth(1).map(|text| text.parse()) {
        Some(Ok(address)) => address,
        Some(Err(error)) => {
            eprintln!("bare_route: the address to listen on is not valid: {error}");
            std::process::exit(2);
        }
        None => SocketAddr::from(([127, 0, 0, 1], 8081)),
    };
    tokio::runtime::Runtime::new()?.block_on(async move {
        let router = Router::new().fallback(any(|| async { "" }));
        let listener = tokio::net::TcpListener::bind(listen).await?;
        axum::serve(listener, router).await
    })
}
