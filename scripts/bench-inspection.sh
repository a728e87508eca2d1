#!/usr/bin/env bash
# Size run of the inspection packet (docs/office.md, "The inspection packet"): an
# office register of M media, H hosts and E rows in the hosts' collected logs, built
# once and kept in the cache directory (it takes a while: the media through the
# service, the rows as the ledger stores them), then the packet written from it.
# Prints figures: time (and the run's own CPU time, since the machine may be shared),
# the size of each file, peak memory. No timed assertions.
# Usage: scripts/bench-inspection.sh [--media M] [--hosts H] [--events E] [--cache DIR]
#   defaults: 100,000 media, 100 hosts, 10,000,000 rows, ~/.cache/mediagate-inspection
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
media=100000 hosts=100 events=10000000 cache=
while (($#)); do
	case $1 in
	--media) media=${2:?}; shift ;;
	--hosts) hosts=${2:?}; shift ;;
	--events) events=${2:?}; shift ;;
	--cache) cache=${2:?}; shift ;;
	-h | --help) sed -n '2,9p' "$0"; exit 0 ;;
	*) echo "bench-inspection: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
cd "$repo"
MEDIAGATE_INSPECTION_LOAD=1 MEDIAGATE_LOAD_MEDIA=$media MEDIAGATE_LOAD_HOSTS=$hosts MEDIAGATE_LOAD_EVENTS=$events \
	MEDIAGATE_LOAD_CACHE=$cache go test ./internal/inspection -run '^TestInspectionLoad$' -count=1 -v -timeout 240m
