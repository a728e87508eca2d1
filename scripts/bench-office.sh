#!/usr/bin/env bash
# Load run of the office server (docs/office.md): the server in its own process on
# loopback, N enrolled hosts long-polling over real mutual TLS (taking policy deltas
# as enrolled hosts do), M media in the register. Prints figures: policy envelope
# size, the size of the answers after a change, policy fetch p50/p99 server-side, the
# time for one `media lost` to reach every host, the server's RSS. No timed assertions.
# Usage: scripts/bench-office.sh [--hosts N] [--media M] [--shared S] [--rounds R] [--pg]
#   --shared S  media not limited to hosts (in every host's policy); the others are
#               each limited to the ten hosts of one department (--allowed-host)
#   --pg        the register on PostgreSQL: a throw-away cluster (scripts/lib.sh
#               start_test_postgres), stopped at the end; or the server MEDIAGATE_PG_DSN
#               names, when set
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
hosts=1000 media=100000 shared=1000 rounds=5 pg=0
while (($#)); do
	case $1 in
	--hosts) hosts=${2:?}; shift ;;
	--media) media=${2:?}; shift ;;
	--shared) shared=${2:?}; shift ;;
	--rounds) rounds=${2:?}; shift ;;
	--pg) pg=1 ;;
	-h | --help) sed -n '2,13p' "$0"; exit 0 ;;
	*) echo "bench-office: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
cd "$repo"
pgdsn=
if ((pg)); then
	if [[ -z ${MEDIAGATE_PG_DSN:-} ]]; then
		# shellcheck source=scripts/lib.sh
		. scripts/lib.sh
		start_test_postgres
		trap stop_test_postgres EXIT
	fi
	pgdsn=$MEDIAGATE_PG_DSN
fi
MEDIAGATE_OFFICE_LOAD=1 MEDIAGATE_LOAD_HOSTS=$hosts MEDIAGATE_LOAD_MEDIA=$media MEDIAGATE_LOAD_SHARED=$shared \
	MEDIAGATE_LOAD_ROUNDS=$rounds MEDIAGATE_LOAD_PG=$pgdsn \
	go test ./internal/office/server -run '^TestOfficeLoad$' -count=1 -v -timeout 120m
