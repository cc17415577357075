#!/usr/bin/env bash
# Every check a change must pass, in the order that fails fastest: format,
# lints for each feature set, unit and integration tests per package, the
# deploy/ checks (Helm and Kustomize rendered, validated and diagnosed), then the
# SDK tests (the official openai and anthropic Python packages) and the
# end-to-end tests in Chromium against a debug build. CI runs exactly this.
#
# Environment (all optional):
#   CARGO_TARGET_DIR                    default ~/.cache/tollgate/target (kept between runs)
#   TEST_DATABASE_URL, TEST_REDIS_URL   use these services instead of the local ones
#   SKIP_E2E=1                          stop after the cargo tests (for a quick local loop)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Packages whose code runs on the server (the `ssr` side). `tollgate-app` is
# linted and tested separately with `--features ssr`, and again for wasm with
# `hydrate`: one cargo invocation must never see both (BUILD.md).
SERVER_PACKAGES=(tollgate-domain tollgate-store tollgate-gateway tollgate-cluster tollgate)

fmt_check() { cargo fmt --all --check; }

clippy_ssr() {
  local pkgs=() p
  for p in "${SERVER_PACKAGES[@]}"; do pkgs+=(-p "$p"); done
  cargo clippy "${pkgs[@]}" --all-targets -- -D warnings
  cargo clippy -p tollgate-app --all-targets --features ssr -- -D warnings
}

clippy_hydrate() {
  cargo clippy -p tollgate-app --lib --target wasm32-unknown-unknown \
    --no-default-features --features hydrate -- -D warnings
}

# One package at a time, each with only its own features, so a crate that
# forgot to ask for a feature fails here instead of passing by unification.
# A crate with no tests yet passes (`--no-tests=pass`).
nextest() {
  cargo nextest run --no-tests=pass "$@"
}

# The official Python SDKs against a real `tollgate serve` and a stub upstream.
# The debug binary is usually fresh from the cargo tests; the build is the one
# build_debug_site runs, so it costs nothing twice.
sdk_tests() {
  cargo build -p tollgate --bin tollgate
  TG_BIN="$CARGO_TARGET_DIR/debug/tollgate" \
    "$TG_ROOT/.venv/bin/python" -m pytest -q "$TG_ROOT/end2end/sdk"
}

build_debug_site() { bash "$TG_ROOT/scripts/build-site.sh" debug; }

# Renders deploy/ (Helm, Kustomize), validates it and runs `tollgate check-manifests` on it.
check_deploy() {
  cargo build -p tollgate --bin tollgate
  TG_BIN="$CARGO_TARGET_DIR/debug/tollgate" bash "$TG_ROOT/scripts/check-deploy.sh"
}

e2e() {
  # Screenshots of this run only, so none is mistaken for today's page.
  rm -rf "$TG_ROOT/end2end/screenshots"
  # The instances test points the portal at this fake Kubernetes API server.
  cargo build -p tollgate-cluster --example fake-apiserver
  TG_FAKE_KUBE="$CARGO_TARGET_DIR/debug/examples/fake-apiserver" \
    TG_BIN="$CARGO_TARGET_DIR/debug/tollgate" \
    TOLLGATE_SITE_ROOT="$(site_dir debug)" \
    node --test --test-concurrency=1 "$TG_ROOT/end2end/tests/"
}

main() {
  local start=$SECONDS
  cd "$TG_ROOT"
  step "install dependencies" bash "$TG_ROOT/scripts/install-deps.sh"
  step "start Postgres and Redis" bash "$TG_ROOT/scripts/ensure-services.sh"
  # The store and counter suites read these; default to the local services.
  export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
  export TEST_REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379}"

  step "cargo fmt --check" fmt_check
  step "clippy (ssr)" clippy_ssr
  step "clippy (hydrate, wasm32)" clippy_hydrate
  step "tests: tollgate-domain" nextest -p tollgate-domain --features gen
  step "tests: tollgate-store" nextest -p tollgate-store
  step "tests: tollgate-gateway" nextest -p tollgate-gateway
  step "tests: tollgate-cluster" nextest -p tollgate-cluster
  step "tests: tollgate (server)" nextest -p tollgate
  step "tests: tollgate-app (ssr)" nextest -p tollgate-app --features ssr
  step "deploy/: render, validate, diagnose" check_deploy
  step "SDK tests (openai, anthropic)" sdk_tests
  if [[ "${SKIP_E2E:-}" == 1 ]]; then
    log "SKIP_E2E=1: skipping the site build and the browser tests"
  else
    step "build the site (debug)" build_debug_site
    step "end-to-end tests (Chromium)" e2e
  fi
  log "all checks passed in $(((SECONDS - start) / 60))m$(((SECONDS - start) % 60))s"
}

main "$@"
