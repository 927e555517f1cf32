# syntax=docker/dockerfile:1
# Base images are pinned by digest (decision 0026): a tag moves, a digest does not. To take a
# newer base, look the digest up (`docker buildx imagetools inspect rust:1.95-bookworm`) and
# change both lines; `scripts/lint-container` refuses a FROM without one.
FROM rust:1.95-bookworm@sha256:6258907abe69656e41cd992e0b705cdcfabcbbe3db374f92ed2d47121282d4a1 AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# hadolint ignore=DL3008
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src

# Dependencies in their own layer: built against empty targets from the manifest and lock
# alone, so a change to the code reuses this layer and compiles only the service itself.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs \
 && grep -A1 '^\[\[bench\]\]' Cargo.toml | sed -n 's/^name = "\(.*\)"/\1/p' \
    | while read -r bench; do echo 'fn main() {}' > "benches/$bench.rs"; done \
 && cargo build --release --locked --bin declare \
 && rm -rf src benches target/release/.fingerprint/declare-* target/release/deps/declare-* \
      target/release/deps/libdeclare-* target/release/declare*

COPY . .
RUN cargo build --release --locked --bin declare

FROM debian:bookworm-slim@sha256:3783cc01769c7b2b1b83a5c5ad96c815348e28ed7da68e2e3687004faa906251
# Debian's point releases and security updates are what the unpinned versions bring in.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/declare declare \
 && mkdir -p /var/lib/declare && chown declare /var/lib/declare
COPY --from=build /src/target/release/declare /usr/local/bin/declare
USER 10001
ENV DECLARE_LISTEN=0.0.0.0:8080 DECLARE_DATA_DIR=/var/lib/declare
EXPOSE 8080
# Ready means the database answers and migrations are applied; a container that never gets
# there is reported unhealthy (compose and most orchestrators act on it).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["curl", "-fsS", "http://127.0.0.1:8080/readyz"]
ENTRYPOINT ["declare"]
CMD ["serve"]
