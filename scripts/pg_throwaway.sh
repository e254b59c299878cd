#!/usr/bin/env bash
# A throw-away PostgreSQL server for the tests and CI (never for real data: fsync is off).
#   scripts/pg_throwaway.sh start DIR   → initdb into DIR/data, start on a free loopback port, print the URL
#   scripts/pg_throwaway.sh stop DIR    → stop it and delete DIR
# Uses the Debian `postgresql` package's binaries (/usr/lib/postgresql/*/bin, or pg_ctl on PATH). initdb refuses
# to run as root, so as root the server runs as an unprivileged user (`postgres` when the package made it, else a
# system user `fanpin-pg` made here) through runuser. Connections: trust, loopback only, superuser `fanpin`.
set -euo pipefail
cmd="${1:-}"; dir="${2:-}"
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "用法：$0 start|stop DIR" >&2; exit 2; }

bin=""
for cand in /usr/lib/postgresql/*/bin; do [ -x "$cand/initdb" ] && bin="$cand"; done
[ -n "$bin" ] || bin="$(dirname "$(command -v pg_ctl 2>/dev/null || echo /nonexistent/pg_ctl)")"
[ -x "$bin/initdb" ] || { echo "找不到 PostgreSQL（initdb）：sudo apt-get install postgresql" >&2; exit 1; }

as_owner() {  # run a PostgreSQL program as the unprivileged owner of the data folder
  if [ "$(id -u)" = 0 ]; then runuser -u "$owner" -- "$@"; else "$@"; fi
}

owner="$(id -un)"
if [ "$(id -u)" = 0 ]; then
  if id postgres >/dev/null 2>&1; then owner=postgres
  else
    id fanpin-pg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin fanpin-pg
    owner=fanpin-pg
  fi
fi

case "$cmd" in
  start)
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    [ "$(id -u)" = 0 ] && chown "$owner" "$dir"
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    as_owner "$bin/initdb" -D "$dir/data" -U fanpin --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    # Test speed only: nothing here must survive a crash.
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start -o \
      "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off \
       -c full_page_writes=off -c max_connections=300 -c shared_buffers=64MB" >/dev/null \
      || { cat "$dir/server.log" >&2; exit 1; }
    echo "$port" >"$dir/port"
    echo "postgresql+psycopg://fanpin@127.0.0.1:$port/postgres"
    ;;
  stop)
    [ -d "$dir/data" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  *) echo "用法：$0 start|stop DIR" >&2; exit 2 ;;
esac
