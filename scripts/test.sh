#!/usr/bin/env bash
# Runs mediagate's whole test suite: installs what it needs (Debian packages, Go), then
# go vet, the unit tests (the register's on SQLite and on a PostgreSQL server it starts),
# and the end-to-end suite in a QEMU guest (scripts/e2e.sh).
# Usage: scripts/test.sh [--unit]   (--unit: skip the end-to-end suite)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$repo/scripts/lib.sh"

unit_only=0
case ${1:-} in
--unit) unit_only=1 ;;
-h | --help) sed -n '2,5p' "$0"; exit 0 ;;
"") ;;
*) echo "test: unknown argument $1" >&2; exit 2 ;;
esac

t0=$SECONDS
# sqlite3: the tamper test edits the register with it; chromium and fonts-noto-cjk: the
# printed check-in sheet and register are rendered to PDF in English and Chinese;
# poppler-utils and zbar-tools: the PDFs are read back (page counters, QR codes on labels).
ensure_apt "${MEDIAGATE_BUILD_DEPS[@]}" sqlite3 e2fsprogs chromium fonts-noto-cjk poppler-utils zbar-tools
ensure_go
cd "$repo"
echo "== go $(go env GOVERSION): download modules"
go mod download
echo "== gofmt"
unformatted=$(gofmt -l cmd internal)
if [[ -n $unformatted ]]; then
	echo "gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi
echo "== go vet"
go vet ./...
echo "== unit tests"
# Tests that mount loop devices or write to sysfs run only when asked, and only as root.
if ((EUID == 0)); then
	export MEDIAGATE_ROOT_TESTS=1
fi
# The register's tests run on SQLite and on a real PostgreSQL server: a throw-away
# cluster started here (stopped on exit, also on failure), unless MEDIAGATE_PG_DSN
# already names a server where the tests may create databases.
if [[ -z ${MEDIAGATE_PG_DSN:-} ]]; then
	trap stop_test_postgres EXIT
	start_test_postgres
fi
go test -count=1 ./...
stop_test_postgres
echo "== unit tests done in $((SECONDS - t0)) s"
if ((unit_only)); then
	exit 0
fi
echo "== end-to-end suite (QEMU guest)"
"$repo/scripts/e2e.sh"
echo "== all tests passed in $((SECONDS - t0)) s"
