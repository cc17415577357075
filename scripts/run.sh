#!/usr/bin/env bash
# Builds Tollgate in release and runs it as a single node: portal, admin API
# and gateway on one port (default 127.0.0.1:4000), SQLite under ./data.
# Extra arguments go to `tollgate serve`, e.g. `scripts/run.sh --listen 0.0.0.0:8080`.
#
# The first run compiles everything (about 20 minutes on 2 cores); later runs
# reuse $CARGO_TARGET_DIR (default ~/.cache/tollgate/target).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

main() {
  # Running needs no browser, Postgres or Redis: only the build tools.
  step "install build tools" bash "$TG_ROOT/scripts/install-deps.sh" --run
  step "build (release)" bash "$TG_ROOT/scripts/build-site.sh" release

  TOLLGATE_SITE_ROOT="$(site_dir release)"
  export TOLLGATE_SITE_ROOT
  local bin="$CARGO_TARGET_DIR/release/tollgate"
  [[ -x "$bin" ]] || die "no binary at $bin"
  cd "$TG_ROOT"
  log "starting: $bin serve $*"
  exec "$bin" serve "$@"
}

main "$@"
