#!/usr/bin/env bash
# `audit verify` on a large register: time and memory of the hash chain, the replay of
# the log and its comparison with the tables. See docs/performance.md. Not part of
# scripts/test.sh: writing the register takes a while.
set -euo pipefail

usage() {
	cat <<'EOF2'
usage: scripts/bench-verify.sh [--media N] [--events N] [--runs N] [--keep FILE]

Writes a register of N media (default 100000; a tenth handed over, a tenth lost) and
device decisions up to N rows of audit log (default 1000000), then runs BenchmarkVerify
(internal/replay) on it --runs times (default 3) and prints the time per verify, rows
per second, bytes allocated and the peak resident memory of the process. The register
is written to a temporary file, or to --keep FILE (reused when it exists).
EOF2
}

media=100000 events=1000000 runs=3 keep=""
while [ $# -gt 0 ]; do
	case "$1" in
	--media) media=$2; shift 2 ;;
	--events) events=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--keep) keep=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done

cd "$(dirname "$0")/.."
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
tmp=""
if [ -z "$keep" ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	keep=$tmp/bench.db
fi
echo "register: $media media, $events rows of log ($keep)"
MEDIAGATE_BENCH_MEDIA=$media MEDIAGATE_BENCH_EVENTS=$events MEDIAGATE_BENCH_DB=$keep \
	"$GO" test ./internal/replay -run '^$' -bench '^BenchmarkVerify$' -benchtime "${runs}x" -timeout 60m -v |
	grep -E 'Benchmark|register of|ok|FAIL'
ls -l "$keep" | awk '{printf "register file: %.0f MiB\n", $5/1048576}'
