#!/bin/bash
# The official postgres image's contract, for the stand-in (postgres.Containerfile): on an
# empty $PGDATA, initdb as POSTGRES_USER (default postgres) with POSTGRES_PASSWORD or the
# contents of POSTGRES_PASSWORD_FILE, create POSTGRES_DB (default: the user's name), and
# accept password logins from other hosts; then run the command as the postgres user.
set -euo pipefail

fail() { printf 'docker-entrypoint: %s\n' "$*" >&2; exit 1; }

if [ "$(id -u)" = 0 ]; then
    install -d -o postgres -g postgres -m 0700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
        [ -z "${POSTGRES_PASSWORD:-}" ] || fail "both POSTGRES_PASSWORD and POSTGRES_PASSWORD_FILE are set"
        [ -r "$POSTGRES_PASSWORD_FILE" ] || fail "POSTGRES_PASSWORD_FILE=$POSTGRES_PASSWORD_FILE cannot be read"
        POSTGRES_PASSWORD=$(cat "$POSTGRES_PASSWORD_FILE")
    fi
    auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
    [ -n "${POSTGRES_PASSWORD:-}" ] || [ "$auth" = trust ] ||
        fail "the database is uninitialized and no superuser password is given: set POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE (or POSTGRES_HOST_AUTH_METHOD=trust)"
    user=${POSTGRES_USER:-postgres}
    db=${POSTGRES_DB:-$user}
    pwfile=$(mktemp)
    printf '%s\n' "${POSTGRES_PASSWORD:-}" >"$pwfile"
    initdb --username="$user" --pwfile="$pwfile" --auth-local=trust --auth-host="$auth" \
        --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
    printf 'host all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"
    printf "listen_addresses = '*'\n" >>"$PGDATA/postgresql.auto.conf"
    if [ "$db" != postgres ]; then
        pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
        psql -v ON_ERROR_STOP=1 --username="$user" --dbname=postgres \
            -c "CREATE DATABASE \"$db\"" >/dev/null
        pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    fi
    echo "docker-entrypoint: initialised $PGDATA for user $user, database $db"
fi
exec "$@"
