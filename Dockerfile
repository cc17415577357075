# syntax=docker/dockerfile:1.7
# The Tollgate image: one static-ish binary and the portal's site, on distroless, as a non-root
# user. Built in stages: Rust (wasm + server), Node (Tailwind CSS, wasm-opt), then the runtime.
#   docker build -t tollgate .
#   docker run -p 4000:4000 tollgate serve
# (Not built in this repository's CI, which has no Docker engine; the steps are those of
# scripts/build-site.sh release.)

ARG RUST_VERSION=1.95
ARG NODE_VERSION=22

FROM rust:${RUST_VERSION}-bookworm AS rust
WORKDIR /src
RUN rustup target add wasm32-unknown-unknown
# The CLI must match the wasm-bindgen crate in Cargo.lock exactly.
RUN cargo install wasm-bindgen-cli --version 0.2.130
COPY . .
ENV LEPTOS_OUTPUT_NAME=tollgate CARGO_INCREMENTAL=0
# 1. the hydrate lib for wasm32, 2. wasm-bindgen (ssr and hydrate never in one cargo run)
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build -p tollgate-app --lib --target wasm32-unknown-unknown \
      --no-default-features --features hydrate --profile wasm-release \
 && mkdir -p /site/pkg \
 && wasm-bindgen --target web --out-name tollgate --out-dir /site/pkg \
      target/wasm32-unknown-unknown/wasm-release/tollgate_app.wasm \
 && mv /site/pkg/tollgate_bg.wasm /site/pkg/tollgate.wasm && rm -f /site/pkg/*.d.ts
# 4. the server
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release -p tollgate --bin tollgate \
 && cp target/release/tollgate /tollgate
# An empty /data for the final stage, which has no shell to make one.
RUN mkdir /data

FROM node:${NODE_VERSION}-bookworm-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund
COPY style ./style
COPY app/src ./app/src
COPY public ./public
COPY --from=rust /site /site
# 3. wasm-opt (npm's binaryen; Debian's older one breaks hydration) and Tailwind
RUN npx wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
      /site/pkg/tollgate.wasm -o /site/pkg/tollgate.wasm \
 && npx tailwindcss --input style/tailwind.css --output /site/pkg/tollgate.css --minify \
 && cp -R public/. /site/

# glibc and CA certificates, nothing else; uid 65532 ("nonroot").
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=rust /tollgate /app/tollgate
COPY --from=assets /site /app/site
# TOLLGATE_DATA_DIR: the process runs as 65532 and cannot create it under a root-owned /. A new
# named volume mounted there (docker run -v tollgate-data:/data) takes this owner too.
COPY --from=rust --chown=65532:65532 /data /data
ENV TOLLGATE_SITE_ROOT=/app/site \
    TOLLGATE_LISTEN=0.0.0.0:4000 \
    TOLLGATE_DATA_DIR=/data
USER 65532:65532
EXPOSE 4000
ENTRYPOINT ["/app/tollgate"]
CMD ["serve"]
