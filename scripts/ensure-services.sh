#!/usr/bin/env bash
# Makes sure the Postgres and Redis that the store and counter tests use are
# up. With TEST_DATABASE_URL / TEST_REDIS_URL set, the services are someone
# else's: only check that they answer. Otherwise start the local ones
# (127.0.0.1:5432 and 127.0.0.1:6379) when they are down.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The newest installed Postgres major, e.g. 15 (/etc/postgresql/<major>/main).
pg_major() {
  [[ -d /etc/postgresql ]] || die "Postgres is not installed (run scripts/install-deps.sh)"
  find /etc/postgresql -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort -V | tail -n 1
}

# Starts the local cluster. --skip-systemctl-redirect: there is no systemd here.
start_postgres() {
  local major
  major="$(pg_major)"
  [[ -n "$major" ]] || die "no Postgres cluster under /etc/postgresql"
  log "postgres: starting cluster $major/main"
  as_root pg_ctlcluster --skip-systemctl-redirect "$major" main start
}

# The tests connect as `postgres` without a password over TCP, as on the
# machine image (trust on 127.0.0.1). A fresh Debian install asks for a
# password there instead; make the local test cluster match the image.
ensure_pg_trust() {
  if psql -h 127.0.0.1 -p 5432 -U postgres -w -d postgres -tAc 'select 1' >/dev/null 2>&1; then
    return 0
  fi
  local major hba
  major="$(pg_major)"
  hba="/etc/postgresql/$major/main/pg_hba.conf"
  [[ -w "$hba" ]] || die "postgres on 127.0.0.1:5432 refuses user postgres without a password; set TEST_DATABASE_URL"
  log "postgres: allowing passwordless local TCP logins for the test cluster ($hba)"
  {
    printf '# Added by tollgate scripts/ensure-services.sh: local test cluster, trust on loopback.\n'
    printf 'host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n'
    cat "$hba"
  } >"$hba.tollgate" && mv "$hba.tollgate" "$hba"
  chown postgres:postgres "$hba" 2>/dev/null || true
  as_root pg_ctlcluster --skip-systemctl-redirect "$major" main reload
  psql -h 127.0.0.1 -p 5432 -U postgres -w -d postgres -tAc 'select 1' >/dev/null ||
    die "postgres still refuses user postgres on 127.0.0.1:5432"
}

ensure_postgres() {
  local host port
  if [[ -n "${TEST_DATABASE_URL:-}" ]]; then
    read -r host port < <(url_host_port "$TEST_DATABASE_URL" 5432)
    wait_tcp "$host" "$port" 10 || die "TEST_DATABASE_URL: nothing answers on $host:$port"
    note "postgres: $host:$port answers (TEST_DATABASE_URL)"
    return 0
  fi
  if ! tcp_open 127.0.0.1 5432; then
    start_postgres
    wait_tcp 127.0.0.1 5432 30 || die "postgres did not start on 127.0.0.1:5432 (see /var/log/postgresql/)"
  fi
  # Accepting TCP is not accepting queries: wait out recovery at start-up.
  local i
  for ((i = 0; i < 30; i++)); do
    pg_isready -q -h 127.0.0.1 -p 5432 && break
    sleep 1
  done
  pg_isready -q -h 127.0.0.1 -p 5432 || die "postgres on 127.0.0.1:5432 is not ready"
  ensure_pg_trust
  note "postgres: 127.0.0.1:5432 ready"
}

ensure_redis() {
  local host port
  if [[ -n "${TEST_REDIS_URL:-}" ]]; then
    read -r host port < <(url_host_port "$TEST_REDIS_URL" 6379)
    wait_tcp "$host" "$port" 10 || die "TEST_REDIS_URL: nothing answers on $host:$port"
    note "redis: $host:$port answers (TEST_REDIS_URL)"
    return 0
  fi
  if ! tcp_open 127.0.0.1 6379; then
    have redis-server || die "redis-server is not installed (run scripts/install-deps.sh)"
    log "redis: starting redis-server on 127.0.0.1:6379 (no persistence: test data only)"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
    wait_tcp 127.0.0.1 6379 15 || die "redis-server did not start on 127.0.0.1:6379"
  fi
  if have redis-cli; then
    [[ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" == PONG ]] ||
      die "something on 127.0.0.1:6379 does not answer PING like Redis"
  fi
  note "redis: 127.0.0.1:6379 ready"
}

main() {
  ensure_postgres
  ensure_redis
}

main "$@"
