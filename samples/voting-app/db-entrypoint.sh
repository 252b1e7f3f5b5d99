#!/bin/sh
# The db image's entrypoint: on first start, initialises the data directory (the named volume) with
# the superuser's password, from the file POSTGRES_PASSWORD_FILE names (a secret) or POSTGRES_PASSWORD;
# then runs postgres as the postgres user, listening on every address of the task, with password
# (scram-sha-256) auth for every other host. setpriv is util-linux's, called by its path: busybox's sh
# would run its own applet of that name, which cannot change users.
set -eu
PGDATA=${PGDATA:-/var/lib/postgresql/data}
user=${POSTGRES_USER:-postgres}
if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
  [ -r "$POSTGRES_PASSWORD_FILE" ] || { echo "db: POSTGRES_PASSWORD_FILE=$POSTGRES_PASSWORD_FILE cannot be read; mount the secret there" >&2; exit 1; }
  POSTGRES_PASSWORD=$(cat "$POSTGRES_PASSWORD_FILE")
fi
mkdir -p "$PGDATA" /run/postgresql
chown postgres:postgres "$PGDATA" /run/postgresql
chmod 700 "$PGDATA"
as_postgres() { /usr/bin/setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  [ -n "${POSTGRES_PASSWORD:-}" ] || { echo "db: the data directory $PGDATA is empty and no password is set; set POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE" >&2; exit 1; }
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  chown postgres "$pwfile"
  as_postgres initdb -D "$PGDATA" -U "$user" --pwfile="$pwfile" -E UTF8 --locale=C \
    --auth-local=trust --auth-host=scram-sha-256 >/tmp/initdb.log 2>&1 || { cat /tmp/initdb.log >&2; rm -f "$pwfile"; exit 1; }
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  echo "db: initialised $PGDATA for user $user"
fi

# postgres runs as a child of this root shell, not exec'd: the runtime's parent-death signal, which takes
# the container down with its monitor, does not survive setpriv's change of user, whereas this shell
# keeps it and, being the container's PID 1, takes every process of the container with it when killed.
# The stop signal (SIGINT: a fast shutdown) and SIGTERM are passed on.
/usr/bin/setpriv --reuid=postgres --regid=postgres --init-groups \
  postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/run/postgresql -c jit=off "$@" &
pid=$!
trap 'kill -INT "$pid"' INT
trap 'kill -TERM "$pid"' TERM
status=0
while kill -0 "$pid" 2>/dev/null; do
  wait "$pid" && status=0 || status=$?
done
exit "$status"
