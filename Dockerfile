# Builds the waitroom binary and ships it on a slim Debian image.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin waitroom

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 waitroom
COPY --from=build /src/target/release/waitroom /usr/local/bin/waitroom
USER waitroom
# The pages are built into the binary: no static directory to ship.
ENV WAITROOM_LISTEN=0.0.0.0:8080 \
    WAITROOM_LOG_FORMAT=json
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/waitroom"]
CMD ["serve"]
