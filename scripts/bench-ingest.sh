#!/usr/bin/env bash
# Ingest run of the office's ledger (docs/office.md, "Collecting the hosts' logs"): N
# simulated hosts send their audit logs at once, each a batch after the previous one's
# acknowledgement, for S seconds, on SQLite and on PostgreSQL. Prints events/s
# acknowledged, receipt-to-acknowledgement p50/p99, CPU used per event, peak RSS, and
# the events counted at both ends (sent, acknowledged, held by the office: none lost,
# none twice). No timed assertions.
# Usage: scripts/bench-ingest.sh [--hosts N] [--seconds S] [--batch B] [--engine sqlite|postgres|both]
#   postgres: a throw-away cluster (scripts/lib.sh start_test_postgres), stopped at the
#   end; or the server MEDIAGATE_PG_DSN names, when set
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
hosts=1000 seconds=60 batch=50 engine=both
while (($#)); do
	case $1 in
	--hosts) hosts=${2:?}; shift ;;
	--seconds) seconds=${2:?}; shift ;;
	--batch) batch=${2:?}; shift ;;
	--engine) engine=${2:?}; shift ;;
	-h | --help) sed -n '2,10p' "$0"; exit 0 ;;
	*) echo "bench-ingest: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
cd "$repo"
engines=(sqlite postgres)
[[ $engine == both ]] || engines=("$engine")
for e in "${engines[@]}"; do
	if [[ $e == postgres && -z ${MEDIAGATE_PG_DSN:-} ]]; then
		# shellcheck source=scripts/lib.sh
		. scripts/lib.sh
		start_test_postgres
		trap stop_test_postgres EXIT
	fi
	MEDIAGATE_INGEST_LOAD=1 MEDIAGATE_INGEST_HOSTS=$hosts MEDIAGATE_INGEST_SECONDS=$seconds MEDIAGATE_INGEST_BATCH=$batch \
		MEDIAGATE_INGEST_ENGINE=$e go test ./internal/office/ledger -run '^TestIngestLoad$' -count=1 -v -timeout 60m |
		grep -v '^=== RUN\|^--- PASS\|^PASS\|^ok '
done
