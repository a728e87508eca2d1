#!/usr/bin/env bash
# Start-up figures of mediagated on this machine, no VM: CPU (utime+stime) and resident
# memory of the daemon at READY and a few seconds later, its threads and its resident
# pages by mapping. A quick native companion of scripts/bench-usbguard.sh (whose guest
# figures are the ones that count; docs/performance.md). Needs root (the daemon locks
# the root hubs and reads /proc of other processes); this machine may have no USB at
# all, which is fine: what is measured is the daemon's own start.
set -euo pipefail

usage() {
	cat <<'EOF2'
usage: scripts/start-figures.sh [--runs N] [--wait SECONDS] [--rescans N] [--bin MEDIAGATED] [--gctrace] [--keep]

Builds mediagate and mediagated (unless --bin names a mediagated binary; mediagate is
still built for 'host init'), makes a fresh register in a temporary directory, and N
times: starts mediagated against it (--sysfs-root /sys, its own run directory and
control socket), waits for "devices present at start decided" (logged as it sends
READY=1), samples /proc at READY and again --wait seconds later (as the guest
benchmark samples 5 s after 'systemctl start' returned), stops it with SIGTERM.

  --runs N        starts to measure (default 3)
  --wait SECONDS  second sample this long after READY (default 5)
  --rescans N     then N times 'mediagate status --rescan' (every present device
                  decided again, a daemon.rescan row committed, the status read),
                  figures every N/5: whether memory stays flat under work
  --bin FILE      measure this mediagated instead of building one
  --gctrace       run with GODEBUG=gctrace=1 and print the collector's lines
  --keep          keep the work directory
  -h, --help      this text

mediagated is built as scripts/install.sh builds it (scripts/lib.sh, build_daemon).
EOF2
}

runs=3 wait=5 rescans=0 bin= gctrace=0 keep=0
while (($#)); do
	case $1 in
	-h | --help) usage; exit 0 ;;
	--runs) runs=${2:?--runs needs a number}; shift ;;
	--wait) wait=${2:?--wait needs seconds}; shift ;;
	--rescans) rescans=${2:?--rescans needs a number}; shift ;;
	--bin) bin=$(realpath "${2:?--bin needs a file}"); shift ;;
	--gctrace) gctrace=1 ;;
	--keep) keep=1 ;;
	*) echo "start-figures: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
if ((EUID != 0)); then
	echo "start-figures: run as root" >&2
	exit 1
fi

repo=$(cd "$(dirname "$0")/.." && pwd)
. "$repo/scripts/lib.sh"
work=$(mktemp -d /tmp/mediagate-start.XXXXXX)
pid=
cleanup() {
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	if ((keep)); then echo "start-figures: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

(cd "$repo" && go build -o "$work/mediagate" ./cmd/mediagate)
if [[ -z $bin ]]; then
	build_daemon "$repo" "$work/mediagated"
	bin=$work/mediagated
fi
db=$work/reg/mediagate.db
mkdir -p "$work/reg"
"$work/mediagate" --db "$db" host init --number START-01 --level secret >/dev/null
"$work/mediagate" --db "$db" person add zhang --name 张三 --department 办公室 >/dev/null
"$work/mediagate" --db "$db" media register --kind usb-disk --vendor 46f4 --product 0001 --serial MGSTART01 \
	--level secret --custodian zhang --number S-START-1 >/dev/null

tck=$(getconf CLK_TCK)
# CPU of all threads: utime+stime in clock ticks, and the scheduler's run time in ns
# (/proc/PID/task/*/schedstat, first field), which is finer.
cpu() {
	local run
	run=$(cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.1f", s / 1e6 }')
	awk -v t="$tck" -v run="$run" '{ printf "%.2f s (run time %s ms)", ($14 + $15) / t, run }' "/proc/$1/stat"
}
status() { awk '/^(VmRSS|RssAnon|RssFile|Threads):/ { printf "%s %s%s  ", $1, $2, ($3 == "" ? "" : " " $3) }' "/proc/$1/status"; }
# Resident kB by mapping: the binary, anonymous (heap, stacks), shared libraries, others.
bymap() {
	awk -v bin="$(readlink -f "$bin")" '
		/^[0-9a-f]+-[0-9a-f]+ / { name = ($6 == "" ? "[anon]" : $6); if (name == bin) name = "binary"; next }
		/^Rss:/ { rss[name] += $2 }
		END { for (n in rss) if (rss[n] > 0) printf "    %-50s %6d kB\n", n, rss[n] }' "/proc/$1/smaps" | sort -k2 -n -r
}

echo "mediagated: $(du -k "$bin" | cut -f1) kB, $(cd "$repo" && git describe --always --dirty), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for ((i = 1; i <= runs; i++)); do
	log=$work/run$i.log
	env=()
	((gctrace)) && env+=(GODEBUG=gctrace=1)
	t0=$(date +%s%N)
	env "${env[@]}" "$bin" --db "$db" --sysfs-root /sys --run-dir "$work/run" --no-notify 2>"$log" &
	pid=$!
	until grep -q 'devices present at start decided' "$log"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "start-figures: mediagated ended before READY:" >&2
			cat "$log" >&2
			exit 1
		fi
		sleep 0.01
	done
	t1=$(date +%s%N)
	echo "run $i: READY after $(((t1 - t0) / 1000000)) ms"
	echo "  at READY:    CPU $(cpu "$pid")  $(status "$pid")"
	sleep "$wait"
	echo "  READY+${wait}s:   CPU $(cpu "$pid")  $(status "$pid")"
	for ((n = 1; n <= rescans; n++)); do
		"$work/mediagate" --db "$db" --socket "$work/run/control.sock" status --rescan >/dev/null
		if ((n % ((rescans + 4) / 5) == 0 || n == rescans)); then
			echo "  after $n rescans: CPU $(cpu "$pid")  $(status "$pid")"
		fi
	done
	bymap "$pid"
	kill -TERM "$pid"
	wait "$pid" || true
	pid=
	if ((gctrace)); then grep '^gc ' "$log" | sed 's/^/    /'; fi
done
