#!/usr/bin/env bash
# A PostgreSQL 15 server with pgvector on 127.0.0.1 for emomo's PostgreSQL tests.
#
#   scripts/ci-postgres.sh [start]   install what is missing, start the server,
#                                    print its URL (postgres://…) on stdout
#   scripts/ci-postgres.sh stop      stop the server
#
# Debian 12. Installing needs root and Debian's apt mirror (nothing else); once
# PostgreSQL 15 and pgvector are installed, any user can run it. Idempotent: a
# second run skips what is done and reuses a running server. Progress goes to
# stderr, so `export EMOMO_TEST_PG_URL=$(scripts/ci-postgres.sh)` works.
#
# Environment: EMOMO_PG_DIR (state: data directory, socket, log, password;
# default /tmp/emomo-pg), EMOMO_PG_PORT (default: the first free port from 54329),
# EMOMO_DEBIAN_MIRROR (default: the mirror of the machine's apt sources).
set -euo pipefail
shopt -s inherit_errexit # a failure inside $(…) stops the script too

PG_MAJOR=15
PGVECTOR_MIN=0.8.0 # halfvec, HNSW and iterative index scans (hnsw.iterative_scan)
PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
VECTOR_CONTROL=/usr/share/postgresql/$PG_MAJOR/extension/vector.control
STATE=${EMOMO_PG_DIR:-/tmp/emomo-pg}
DATA=$STATE/data
SOCKET_DIR=$STATE/run
SETUP_LOG=$STATE/setup.log
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
started_at=$SECONDS

log() { printf 'ci-postgres: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }
# The server refuses to run as root: as root, run its programs as the postgres user.
as_pg() { if is_root; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }

need_root() {
  is_root || die "$1 is missing; run this script as root (sudo) once to install it, or point the tests at an existing server with EMOMO_TEST_PG_URL"
}

# Runs a setup step with its output in $SETUP_LOG; on failure, shows the end of it.
quietly() {
  local what=$1
  shift
  "$@" >>"$SETUP_LOG" 2>&1 || die "$what failed; last lines of $SETUP_LOG:
$(tail -n 25 "$SETUP_LOG")"
}

apt_install() {
  log "installing $* (apt)"
  export DEBIAN_FRONTEND=noninteractive
  quietly "apt-get update" apt-get -q -o DPkg::Lock::Timeout=300 update
  quietly "apt-get install $*" apt-get -q -y -o DPkg::Lock::Timeout=300 install --no-install-recommends "$@"
}

not_installed() {
  local pkg
  for pkg in "$@"; do
    [[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true) == *" ok installed" ]] || echo "$pkg"
  done
}

# The Debian mirror the machine's apt sources use for the release itself (not -security, not -updates).
debian_mirror() {
  local codename f
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  [ -n "$codename" ] || die "cannot read VERSION_CODENAME from /etc/os-release"
  {
    # deb822 stanzas: Types/URIs/Suites fields, blank-line separated.
    for f in /etc/apt/sources.list.d/*.sources; do
      if [ -f "$f" ]; then cat "$f" && echo; fi
    done | awk -v RS= -v c="$codename" '
      { uri = ""; deb = 0; suite = 0
        n = split($0, lines, "\n")
        for (i = 1; i <= n; i++) {
          split(lines[i], w, /[ \t]+/)
          if (w[1] == "URIs:") uri = w[2]
          if (w[1] == "Types:") for (j = 2; j in w; j++) if (w[j] == "deb" || w[j] == "deb-src") deb = 1
          if (w[1] == "Suites:") for (j = 2; j in w; j++) if (w[j] == c) suite = 1
        }
        if (uri != "" && deb && suite) print uri }'
    # One-line entries: deb [options] URI SUITE COMPONENTS...
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      if [ -f "$f" ]; then cat "$f"; fi
    done | sed -E 's/\[[^]]*\]//' | awk -v c="$codename" '($1 == "deb" || $1 == "deb-src") && $3 == c { print $2 }'
  } | sed -n 1p
}

version_at_least() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | sed -n 1p)" = "$2" ]; }
pgvector_version() { [ ! -f "$VECTOR_CONTROL" ] || sed -nE "s/^default_version *= *'([^']+)'.*/\1/p" "$VECTOR_CONTROL"; }

ensure_server() {
  [ -x "$PG_BIN/postgres" ] && [ -x "$PG_BIN/psql" ] && return
  need_root "PostgreSQL $PG_MAJOR"
  apt_install "postgresql-$PG_MAJOR" "postgresql-client-$PG_MAJOR"
}

# pgvector is not packaged for Debian 12; its source package is in the next
# release (trixie). A private apt source list and lists directory fetch it, so
# the machine's own package lists are untouched.
ensure_pgvector() {
  local have
  have=$(pgvector_version)
  if [ -n "$have" ] && version_at_least "$have" "$PGVECTOR_MIN"; then return; fi
  need_root "pgvector >= $PGVECTOR_MIN"
  local missing
  missing=$(not_installed "postgresql-server-dev-$PG_MAJOR" build-essential dpkg-dev)
  [ -z "$missing" ] || apt_install $missing

  local mirror=${EMOMO_DEBIAN_MIRROR:-$(debian_mirror)}
  [ -n "$mirror" ] || die "no Debian mirror found in /etc/apt/sources.list*; set EMOMO_DEBIAN_MIRROR"
  local apt_dir=$STATE/apt build=$STATE/build
  rm -rf "$build" && mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$build"
  local signed_by=""
  [ -f "$KEYRING" ] && signed_by="[signed-by=$KEYRING] "
  echo "deb-src ${signed_by}$mirror trixie main" >"$apt_dir/sources.list"
  local apt_private=(-q -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=-
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o APT::Sandbox::User=root)
  log "fetching the pgvector source package (trixie, $mirror)"
  cd "$build"
  quietly "apt-get update of the trixie source list ($mirror)" apt-get "${apt_private[@]}" update
  quietly "apt-get source pgvector" apt-get "${apt_private[@]}" source --download-only pgvector
  # The files' hashes were checked by apt against the signed trixie index.
  quietly "dpkg-source -x" dpkg-source -x pgvector_*.dsc pgvector
  log "building pgvector $(ls pgvector_*.dsc | sed -E 's/^pgvector_(.*)\.dsc$/\1/') against PostgreSQL $PG_MAJOR"
  local make_args=(-C pgvector "PG_CONFIG=$PG_BIN/pg_config" OPTFLAGS= with_llvm=no)
  quietly "building pgvector" make "${make_args[@]}"
  quietly "installing pgvector" make "${make_args[@]}" install
  have=$(pgvector_version)
  version_at_least "${have:-0}" "$PGVECTOR_MIN" || die "pgvector ${have:-?} installed, $PGVECTOR_MIN or newer needed"
}

port_in_use() { (: >"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
  if [ -n "${EMOMO_PG_PORT:-}" ]; then
    port_in_use "$EMOMO_PG_PORT" && die "port $EMOMO_PG_PORT (EMOMO_PG_PORT) is in use"
    echo "$EMOMO_PG_PORT"
    return
  fi
  local port
  for port in $(seq 54329 54399); do
    port_in_use "$port" || { echo "$port"; return; }
  done
  die "no free port in 54329-54399; set EMOMO_PG_PORT"
}

init_cluster() {
  [ -f "$DATA/PG_VERSION" ] && return
  log "creating a cluster in $DATA"
  mkdir -p "$DATA" "$SOCKET_DIR"
  is_root && chown postgres: "$DATA" "$SOCKET_DIR"
  chmod 700 "$DATA" "$SOCKET_DIR"
  # A random password for TCP connections; the socket directory is private to the server's user.
  local password pwfile
  password=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
  pwfile=$(mktemp)
  echo "$password" >"$pwfile"
  is_root && chown postgres: "$pwfile"
  as_pg "$PG_BIN/initdb" -D "$DATA" -U postgres --pwfile="$pwfile" --auth-local=trust \
    --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >>"$SETUP_LOG" 2>&1 ||
    { rm -f "$pwfile"; die "initdb failed; see $SETUP_LOG"; }
  rm -f "$pwfile"
  (umask 077 && echo "$password" >"$STATE/password")
}

running_port() { as_pg "$PG_BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1 && sed -n 4p "$DATA/postmaster.pid"; }

start_server() {
  local port
  port=$(running_port) && { log "server already running on port $port"; echo "$port"; return; }
  port=$(free_port)
  log "starting the server on 127.0.0.1:$port"
  touch "$STATE/postgres.log"
  is_root && chown postgres: "$STATE/postgres.log"
  # 9>&-: the server must not inherit (and hold) this script's lock.
  as_pg "$PG_BIN/pg_ctl" -D "$DATA" -l "$STATE/postgres.log" -w -t 60 start \
    -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$SOCKET_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >&2 9>&- ||
    die "the server did not start; last lines of $STATE/postgres.log:
$(tail -n 20 "$STATE/postgres.log")"
  echo "$port"
}

check_server() {
  local url=$1 versions
  versions=$(PGCONNECT_TIMEOUT=10 "$PG_BIN/psql" "$url" -XAtq -c "SELECT current_setting('server_version_num'), current_setting('server_version'),
      (SELECT default_version FROM pg_available_extensions WHERE name = 'vector')") ||
    die "cannot connect to $url (see $STATE/postgres.log)"
  local server vector name
  IFS='|' read -r server name vector <<<"$versions"
  [ "$server" -ge $((PG_MAJOR * 10000)) ] || die "server version $server, PostgreSQL $PG_MAJOR or newer needed"
  [ -n "$vector" ] && version_at_least "$vector" "$PGVECTOR_MIN" ||
    die "the server offers pgvector '${vector}', $PGVECTOR_MIN or newer needed"
  log "PostgreSQL $name with pgvector $vector ready in $((SECONDS - started_at))s"
}

main() {
  mkdir -p "$STATE"
  # One run at a time per state directory (apt, initdb and pg_ctl do not like company).
  exec 9>"$STATE/lock"
  flock 9
  : >"$SETUP_LOG"
  case "${1:-start}" in
  start)
    ensure_server
    ensure_pgvector
    init_cluster
    local port url
    port=$(start_server)
    [ -f "$STATE/password" ] || die "$STATE/password is missing; stop the server and remove $STATE to start over"
    url="postgres://postgres:$(cat "$STATE/password")@127.0.0.1:$port/postgres"
    check_server "$url"
    echo "$url"
    ;;
  stop)
    if running_port >/dev/null; then as_pg "$PG_BIN/pg_ctl" -D "$DATA" stop -m fast >&2; else log "not running"; fi
    ;;
  *) die "usage: $0 [start|stop]" ;;
  esac
}

main "$@"
