# shellcheck shell=bash
# Shared functions for Tollgate's scripts. Source it; it sets nothing but
# functions and the environment every script needs (paths, PATH, target dir).

# The clone's root, whichever directory a script was started from.
TG_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export TG_ROOT

# Build output lives outside the clone: CI runs in a fresh clone, and a cold
# target/ there would cost a 20-minute build every run (see BUILD.md).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tollgate/target}"

# No incremental caches in the scripts: CI builds from a fresh clone each time, and every
# clone's path would add gigabytes of caches that are never reused.
export CARGO_INCREMENTAL=0

# npm's wasm-opt (binaryen 132) must win over Debian's binaryen 108, whose
# output never hydrates; cargo-installed wasm-bindgen comes next.
export PATH="$TG_ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"

# Leptos reads LEPTOS_OUTPUT_NAME with `option_env!` when the `leptos` crate
# compiles: the server must see it to name pkg/tollgate.{js,wasm}, and every
# cargo run must see the same value, or clippy, tests and builds would keep
# recompiling leptos and everything above it.
export LEPTOS_OUTPUT_NAME=tollgate

# Logs of long installs, kept so a failure can be read after the fact.
TG_LOG_DIR="${TG_LOG_DIR:-$HOME/.cache/tollgate/logs}"
export TG_LOG_DIR

# Colour only on a terminal; CI logs stay plain.
if [[ -t 2 ]]; then
  _tg_bold=$'\033[1m' _tg_red=$'\033[31m' _tg_dim=$'\033[2m' _tg_off=$'\033[0m'
else
  _tg_bold='' _tg_red='' _tg_dim='' _tg_off=''
fi

log() { printf '%s==>%s %s\n' "$_tg_bold" "$_tg_off" "$*" >&2; }
note() { printf '%s    %s%s\n' "$_tg_dim" "$*" "$_tg_off" >&2; }
die() {
  printf '%sERROR:%s %s\n' "$_tg_red$_tg_bold" "$_tg_off" "$*" >&2
  exit 1
}

have() { command -v "$1" >/dev/null 2>&1; }

# Runs a named step, prints how long it took, and stops the script with the
# step's name when it fails, so a CI log says what broke on its last line.
step() {
  local name="$1"
  shift
  local start=$SECONDS rc=0
  log "$name"
  "$@" || rc=$?
  local took=$((SECONDS - start))
  if ((rc != 0)); then
    printf '%sFAILED:%s step "%s" (exit %d, %dm%02ds)\n' \
      "$_tg_red$_tg_bold" "$_tg_off" "$name" "$rc" $((took / 60)) $((took % 60)) >&2
    exit "$rc"
  fi
  printf 'time: %-50s %dm%02ds\n' "$name" $((took / 60)) $((took % 60)) >&2
}

# Root runs apt directly; anyone else needs sudo.
as_root() {
  if ((EUID == 0)); then
    "$@"
  elif have sudo; then
    sudo "$@"
  else
    die "need root (or sudo) to run: $*"
  fi
}

# The wasm-bindgen crate version the workspace resolved; the CLI must match it
# exactly. Falls back to the `=x.y.z` pin in Cargo.toml before the first lock.
wasm_bindgen_version() {
  local lock="$TG_ROOT/Cargo.lock" v=''
  if [[ -f "$lock" ]]; then
    v="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/^version = "|"$/, ""); print; exit }' "$lock")"
  fi
  if [[ -z "$v" ]]; then
    v="$(sed -n 's/^wasm-bindgen *= *"=\{0,1\}\([0-9][0-9.]*\)".*/\1/p' "$TG_ROOT/Cargo.toml" | head -n 1)"
  fi
  [[ -n "$v" ]] || die "cannot find the wasm-bindgen version in Cargo.lock or Cargo.toml"
  printf '%s\n' "$v"
}

# Parses host and port out of a URL such as postgres://u:p@host:5432/db.
# Prints "host port"; the default port is the second argument.
url_host_port() {
  local url="$1" default_port="$2" rest host port
  rest="${url#*://}"       # drop the scheme
  rest="${rest%%/*}"       # drop the path
  rest="${rest%%\?*}"      # drop a query on a path-less URL
  rest="${rest##*@}"       # drop credentials
  if [[ "$rest" == \[* ]]; then # [::1]:5432
    host="${rest%%]*}"
    host="${host#[}"
    port="${rest##*]}"
    port="${port#:}"
  else
    host="${rest%%:*}"
    port="${rest#"$host"}"
    port="${port#:}"
  fi
  printf '%s %s\n' "${host:-127.0.0.1}" "${port:-$default_port}"
}

# True when something accepts TCP connections on host:port (1 s limit).
tcp_open() {
  # shellcheck disable=SC2016 # $1 and $2 expand in the inner shell, on purpose.
  timeout 1 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# Waits up to $3 seconds for host:port to accept connections.
wait_tcp() {
  local host="$1" port="$2" limit="${3:-30}" i
  for ((i = 0; i < limit * 4; i++)); do
    tcp_open "$host" "$port" && return 0
    sleep 0.25
  done
  return 1
}

# The directory the site of a profile is written to (debug|release).
site_dir() {
  printf '%s/site-%s\n' "$CARGO_TARGET_DIR" "$1"
}
