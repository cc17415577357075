#!/usr/bin/env bash
# Builds the portal and the server without cargo-leptos, in the four steps of
# shared BUILD.md:
#   1. the hydrate lib for wasm32      2. wasm-bindgen
#   3. wasm-opt (release) + Tailwind    4. the `tollgate` binary (ssr)
# The wasm and the server are separate cargo invocations so that the `ssr`
# and `hydrate` features never unify.
#
#   scripts/build-site.sh [debug|release]     (default: debug)
#
# Output: $CARGO_TARGET_DIR/site-<profile>/ (pkg/tollgate.{js,wasm,css} and
# public/*), and the binary $CARGO_TARGET_DIR/<debug|release>/tollgate.
# Run it with TOLLGATE_SITE_ROOT pointing at that site directory.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PROFILE="${1:-debug}"
case "$PROFILE" in
  debug) WASM_PROFILE_ARGS=() WASM_DIR=debug SERVER_ARGS=() ;;
  release) WASM_PROFILE_ARGS=(--profile wasm-release) WASM_DIR=wasm-release SERVER_ARGS=(--release) ;;
  *) die "usage: $0 [debug|release]" ;;
esac
SITE="$(site_dir "$PROFILE")"
PKG="$SITE/pkg"
WASM_IN="$CARGO_TARGET_DIR/wasm32-unknown-unknown/$WASM_DIR/tollgate_app.wasm"
WASM_OUT="$PKG/$LEPTOS_OUTPUT_NAME.wasm"

build_wasm() {
  cargo build -p tollgate-app --lib --target wasm32-unknown-unknown \
    --no-default-features --features hydrate "${WASM_PROFILE_ARGS[@]}"
  [[ -f "$WASM_IN" ]] || die "cargo did not produce $WASM_IN"
}

# The CLI must match the crate exactly, or the generated glue breaks at load.
bindgen() {
  local want got
  want="$(wasm_bindgen_version)"
  have wasm-bindgen || die "wasm-bindgen not found: run scripts/install-deps.sh"
  got="$(wasm-bindgen --version | awk '{print $2}')"
  [[ "$got" == "$want" ]] || die "wasm-bindgen CLI is $got but Cargo.lock has $want: run scripts/install-deps.sh"
  # A fresh pkg/ so no file of an older build is served.
  rm -rf "$PKG"
  mkdir -p "$PKG"
  wasm-bindgen --target web --out-name "$LEPTOS_OUTPUT_NAME" --out-dir "$PKG" "$WASM_IN"
  mv "$PKG/${LEPTOS_OUTPUT_NAME}_bg.wasm" "$WASM_OUT"
  # wasm-bindgen's .d.ts files are for TypeScript users; nothing serves them.
  rm -f "$PKG"/*.d.ts
}

# Debian's binaryen 108 makes a wasm that never hydrates (`WebAssembly.Table.set():
# Argument 1 is invalid`, BUILD.md); npm's binaryen 132 works, so insist on it.
optimize_wasm() {
  local bin
  bin="$(command -v wasm-opt || true)"
  [[ "$bin" == "$TG_ROOT/node_modules/.bin/wasm-opt" ]] ||
    die "wasm-opt resolves to '${bin:-nothing}', not npm's binaryen in node_modules: run scripts/install-deps.sh"
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
    "$WASM_OUT" -o "$WASM_OUT.opt"
  mv "$WASM_OUT.opt" "$WASM_OUT"
}

build_css() {
  have tailwindcss || die "tailwindcss not found: run scripts/install-deps.sh"
  (cd "$TG_ROOT" && tailwindcss --input style/tailwind.css \
    --output "$PKG/$LEPTOS_OUTPUT_NAME.css" --minify)
}

copy_public() {
  local public="$TG_ROOT/public"
  if [[ -d "$public" ]] && [[ -n "$(ls -A "$public")" ]]; then
    cp -R "$public"/. "$SITE"/
  fi
}

build_server() {
  cargo build -p tollgate --bin tollgate "${SERVER_ARGS[@]}"
}

report_size() {
  local raw gz
  raw="$(stat -c %s "$WASM_OUT")"
  gz="$(gzip -9 -c "$WASM_OUT" | wc -c)"
  printf 'wasm: %s  %d KB raw, %d KB gzip\n' "$WASM_OUT" $((raw / 1024)) $((gz / 1024))
}

main() {
  cd "$TG_ROOT"
  log "building the site ($PROFILE) into $SITE"
  step "1/4 wasm: cargo build tollgate-app (hydrate, $WASM_DIR)" build_wasm
  step "2/4 wasm-bindgen" bindgen
  if [[ "$PROFILE" == release ]]; then
    step "3/4 wasm-opt -Oz" optimize_wasm
  fi
  step "3/4 tailwindcss" build_css
  copy_public
  step "4/4 server: cargo build tollgate (ssr${SERVER_ARGS[*]:+, release})" build_server
  if [[ "$PROFILE" == release ]]; then
    report_size
  fi
  log "site: $SITE"
  log "binary: $CARGO_TARGET_DIR/$PROFILE/tollgate"
}

main "$@"
