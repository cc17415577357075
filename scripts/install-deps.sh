#!/usr/bin/env bash
# Installs what building, running and testing Tollgate needs, and nothing that
# is already there: every check is cheap, so this runs at the start of
# run.sh and test.sh on every invocation.
#
#   scripts/install-deps.sh          everything: build, run, and test (browser, databases)
#   scripts/install-deps.sh --run    only what building and running the binary needs
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Debian packages. The C toolchain and pkg-config serve -sys crates.
APT_RUN=(build-essential pkg-config ca-certificates)
# Tests also need a real browser, Postgres and Redis (STYLE.md: real components).
APT_TEST=(chromium postgresql redis-server)

apt_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

install_apt() {
  local missing=() pkg
  for pkg in "$@"; do
    apt_installed "$pkg" || missing+=("$pkg")
  done
  if ((${#missing[@]} == 0)); then
    note "apt: all present (${*})"
    return 0
  fi
  # The package lists may be stale or empty on a fresh machine: refresh once,
  # and only when something has to be installed.
  log "apt: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# Debian's own nodejs package is 18, too old for Tailwind 4; say so plainly.
check_node() {
  have node || die "node is not installed"
  have npm || die "npm is not installed (Debian: apt-get install npm, or a NodeSource nodejs)"
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  ((major >= 20)) || die "node $(node --version) is too old: Tailwind 4 and playwright-core need node >= 20"
}

install_wasm_target() {
  if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    note "rustup: wasm32-unknown-unknown present"
  else
    log "rustup: adding wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
  fi
}

install_rust_components() {
  local c
  for c in rustfmt clippy; do
    if rustup component list --installed | grep -q "^$c"; then
      note "rustup: $c present"
    else
      log "rustup: adding $c"
      rustup component add "$c"
    fi
  done
}

# npm install (not `npm ci`: it rejects npm 11's lock here) when node_modules is
# missing or package.json changed since the last install, which a stamp records.
install_npm() {
  local stamp="$TG_ROOT/node_modules/.tollgate-package-json.sha256" want
  want="$(sha256sum "$TG_ROOT/package.json" | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$TG_ROOT/node_modules/.bin/wasm-opt" ]]; then
    note "npm: node_modules up to date"
    return 0
  fi
  log "npm: installing the front-end tools"
  (cd "$TG_ROOT" && npm install --no-audit --no-fund)
  printf '%s\n' "$want" >"$stamp"
}

# The CLI must be exactly the version of the wasm-bindgen crate in Cargo.lock.
# No --locked: the CLI's own lock pins a crate this registry does not have.
install_wasm_bindgen() {
  local want have_v=''
  want="$(wasm_bindgen_version)"
  if have wasm-bindgen; then
    have_v="$(wasm-bindgen --version | awk '{print $2}')"
  fi
  if [[ "$have_v" == "$want" ]]; then
    note "wasm-bindgen-cli $want present"
    return 0
  fi
  mkdir -p "$TG_LOG_DIR"
  log "cargo install wasm-bindgen-cli $want (had: ${have_v:-none}; 5-16 min; log: $TG_LOG_DIR/wasm-bindgen-cli.log)"
  if ! cargo install wasm-bindgen-cli --version "$want" >"$TG_LOG_DIR/wasm-bindgen-cli.log" 2>&1; then
    tail -n 30 "$TG_LOG_DIR/wasm-bindgen-cli.log" >&2
    die "cargo install wasm-bindgen-cli $want failed"
  fi
}

# The machine image ships cargo-nextest; install it only where it is missing.
install_nextest() {
  if cargo nextest --version >/dev/null 2>&1; then
    note "cargo-nextest present"
    return 0
  fi
  mkdir -p "$TG_LOG_DIR"
  log "cargo install cargo-nextest (log: $TG_LOG_DIR/cargo-nextest.log)"
  cargo install cargo-nextest --locked >"$TG_LOG_DIR/cargo-nextest.log" 2>&1 ||
    cargo install cargo-nextest >>"$TG_LOG_DIR/cargo-nextest.log" 2>&1 ||
    die "cargo install cargo-nextest failed (see $TG_LOG_DIR/cargo-nextest.log)"
}

# The SDK tests (end2end/sdk) run the official `openai` and `anthropic` Python
# packages from a venv at .venv, reinstalled only when requirements.txt changed
# since the last install, which a stamp records. Debian's python3 lacks `venv`
# and `ensurepip` until python3-venv is installed.
install_python_venv() {
  local req="$TG_ROOT/end2end/sdk/requirements.txt" venv="$TG_ROOT/.venv"
  local stamp="$venv/.tollgate-requirements.sha256" want
  have python3 || install_apt python3
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
    install_apt python3-venv
  fi
  want="$(sha256sum "$req" | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && "$venv/bin/python" -c '' 2>/dev/null; then
    note "venv: .venv up to date"
    return 0
  fi
  # A venv whose python is gone (the interpreter moved or was upgraded) is rebuilt.
  "$venv/bin/python" -c '' 2>/dev/null || rm -rf "$venv"
  log "venv: installing end2end/sdk/requirements.txt into .venv"
  [[ -d "$venv" ]] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
  printf '%s\n' "$want" >"$stamp"
}

main() {
  local mode=test
  case "${1:-}" in
    --run) mode=run ;;
    '' | --test) ;;
    *) die "usage: $0 [--run|--test]" ;;
  esac
  have cargo || die "cargo is not installed (rustup's toolchain is expected on this machine)"

  local pkgs=("${APT_RUN[@]}")
  [[ "$mode" == test ]] && pkgs+=("${APT_TEST[@]}")
  # Node usually comes from NodeSource (v20+) on these machines; fall back to
  # Debian's only when there is none at all, and let check_node judge it.
  have node || pkgs+=(nodejs npm)
  install_apt "${pkgs[@]}"

  check_node
  install_wasm_target
  install_npm
  install_wasm_bindgen
  if [[ "$mode" == test ]]; then
    install_rust_components
    install_nextest
    install_python_venv
  fi
}

main "$@"
