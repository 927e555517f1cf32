# syntax=docker/dockerfile:1
FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin declare

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/declare declare \
 && mkdir -p /var/lib/declare && chown declare /var/lib/declare
COPY --from=build /src/target/release/declare /usr/local/bin/declare
USER declare
ENV DECLARE_LISTEN=0.0.0.0:8080 DECLARE_DATA_DIR=/var/lib/declare
EXPOSE 8080
ENTRYPOINT ["declare"]
CMD ["serve"]
