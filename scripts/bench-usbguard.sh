#!/usr/bin/env bash
# Side-by-side benchmark of mediagate and USBGuard in the QEMU test bed.
# See docs/performance.md and `scripts/bench-usbguard.sh --help`. Not part of
# scripts/test.sh or CI: it takes minutes (the soak, most of an hour).
set -euo pipefail

usage() {
	cat <<'EOF2'
usage: scripts/bench-usbguard.sh [--plugs N] [--idle DURATION] [--starts N] [--soak N] [--out FILE] [--profile FILE] [--keep] [--kernel-args ARGS] [--icount] [--syscalls]

Boots the end-to-end guest (Debian bookworm, TCG) once and, in that one run, hot-plugs
the same plan into USBGuard and then into mediagate: N allowed sticks (one serial,
allowed by a USBGuard rule and registered in mediagate) and N blocked ones (other
serials), interleaved. Kernel-side timestamps come from ftrace kprobes on
usb_dev_uevent (the add uevent), usb_authorize_device, usb_deauthorize_device and
usb_probe_interface, with trace_clock=mono; RSS, CPU and context switches of each
daemon from /proc. Prints one Markdown table with both daemons and the ratios.

  --plugs N        allowed plugs per daemon, as many blocked (default 20)
  --idle DURATION  idle window for the context switch count (default 60s; 10s for a quick run)
  --starts N       start each daemon N times (default 1): N-1 starts sampled and stopped
                   before the run's own; the table adds the medians of start-up CPU
                   and RSS after start (a single start varies by a fifth)
  --soak N         instead: N plugs into mediagate only, RSS after the 1st, 2nd, 5th, 10th,
                   20th and 50th plug and every 100 plugs
  --out FILE       also write the table to FILE
  --profile FILE   write a CPU profile of mediagated's whole run in the guest to FILE
                   (read it with: go tool pprof -top <mediagated binary> FILE); with
                   --daemon-env 'MEDIAGATED_CPUPROFILE_SECONDS=3 MEDIAGATED_CPUPROFILE_HZ=1000'
                   the start-up alone, sampled at 1 kHz
  --keep           keep the run's work directory (trace, console log)
  --daemon-env 'NAME=VALUE …'
                   run mediagated with these environment settings (a drop-in), to
                   try one (GOMAXPROCS=1, GOGC=100 …); the table says so; a soak
                   run with 'GODEBUG=gctrace=1,scavtrace=1' also prints the Go
                   runtime's collection and scavenger lines from the journal
  --kernel-args 'ARGS'
                   boot the guest with these extra kernel parameters (e.g.
                   'clocksource=tsc tsc=reliable'); the table says so
  --icount         run the guest with QEMU's -icount shift=0, one vCPU (a second one does
                   not come up under -icount) and clocksource=hpet: the guest's clocks
                   count executed instructions, so run times and latencies are instruction
                   counts, free of the host's scheduling and load (a diagnostic; the table
                   says so)
  --syscalls       also trace every system call entry of both daemons (a diagnostic:
                   the per-plug timelines are printed; it slows both daemons alike)
  -h, --help       this text

Uses the guest image cache of scripts/e2e.sh (MEDIAGATE_E2E_CACHE) and its one-VM lock.
EOF2
}

plugs=20 idle=60s soak=0 out= keep=0 profile= syscalls= denv= kargs= starts=1 icount=
while (($#)); do
	case $1 in
	-h | --help) usage; exit 0 ;;
	--plugs) plugs=${2:?--plugs needs a number}; shift ;;
	--idle) idle=${2:?--idle needs a duration}; shift ;;
	--starts) starts=${2:?--starts needs a number}; shift ;;
	--soak) soak=${2:?--soak needs a number}; shift ;;
	--out) out=$(realpath -m "${2:?--out needs a file}"); shift ;;
	--profile) profile=$(realpath -m "${2:?--profile needs a file}"); shift ;;
	--keep) keep=1 ;;
	--syscalls) syscalls=1 ;;
	--icount) icount=1 ;;
	--daemon-env) denv=${2:?--daemon-env needs NAME=VALUE}; shift ;;
	--kernel-args) kargs=${2:?--kernel-args needs parameters}; shift ;;
	*) echo "bench: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
cmdline="scripts/bench-usbguard.sh"
((plugs != 20)) && cmdline+=" --plugs $plugs"
[[ $idle != 60s ]] && cmdline+=" --idle $idle"
((starts != 1)) && cmdline+=" --starts $starts"
((soak)) && cmdline+=" --soak $soak"
[[ -n $syscalls ]] && cmdline+=" --syscalls"
[[ -n $icount ]] && cmdline+=" --icount"
[[ -n $denv ]] && cmdline+=" --daemon-env '$denv'"
[[ -n $kargs ]] && cmdline+=" --kernel-args '$kargs'"

repo=$(cd "$(dirname "$0")/.." && pwd)
vmdir=$repo/scripts/vm
cache=${MEDIAGATE_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mediagate-e2e}
. "$repo/scripts/lib.sh"
t0=$SECONDS
say() { printf 'bench [%3ds] %s\n' $((SECONDS - t0)) "$*"; }

# The build dependencies too: the mediagate CLI is built with cgo (go-udev links libudev).
ensure_apt qemu-system-x86 qemu-utils mmdebstrap dosfstools mtools fdisk xorriso cpio \
	busybox-static e2fsprogs debian-archive-keyring "${MEDIAGATE_BUILD_DEPS[@]}"
command -v go >/dev/null || ensure_go

# The guest image, as scripts/e2e.sh builds and caches it (same key, same cache).
key=$(cd "$vmdir" && cat packages.txt build-image.sh build-initramfs.sh image/* | sha256sum | cut -c1-16)
img=$cache/images/$key
mkdir -p "$cache/images"
exec 9>"$cache/lock"
flock 9
if [[ ! -e $img/ok ]]; then
	say "building the guest image $key (mmdebstrap; about 75 s)"
	rm -rf "$img" "$img.tmp"
	as_root "$vmdir/build-image.sh" "$img.tmp"
	touch "$img.tmp/ok"
	mv "$img.tmp" "$img"
else
	say "using the cached guest image $key"
fi
flock -u 9

exec 8>"$cache/vm.lock"
if ! flock -n 8; then
	say "waiting for another VM run on this machine to finish"
	flock 8
fi

work=$(mktemp -d /tmp/mgbench.XXXXXX)
cleanup() {
	local rc=$?
	if [[ -s $work/qemu.pid ]]; then
		local pid
		pid=$(<"$work/qemu.pid")
		if [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$work/"; then
			kill "$pid" 2>/dev/null || true
			sleep 1
			kill -9 "$pid" 2>/dev/null || true
		fi
	fi
	if ((rc == 0 && !keep)); then
		rm -rf "$work"
	else
		echo "bench: work directory kept: $work (share/trace.txt, console.log)" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "building ./cmd/mediagate and ./cmd/mediagated"
(cd "$repo" && go build -o "$work/mediagate" ./cmd/mediagate)
build_daemon "$repo" "$work/mediagated" "${profile:+mediagated_profile}"
version=$(cd "$repo" && git describe --always --dirty 2>/dev/null || echo unknown)

say "running the benchmark in the guest"
timeout_min=$((30 + soak / 20 + plugs + starts))
(cd "$repo" && MEDIAGATE_BENCH=1 MEDIAGATE_E2E_IMAGE="$img" MEDIAGATE_E2E_WORKDIR="$work" \
	MEDIAGATE_BIN="$work/mediagate" MEDIAGATE_DAEMON_BIN="$work/mediagated" MEDIAGATE_BENCH_PLUGS="$plugs" MEDIAGATE_BENCH_IDLE="$idle" \
	MEDIAGATE_BENCH_SOAK="$soak" MEDIAGATE_BENCH_OUT="$out" MEDIAGATE_BENCH_PROFILE="$profile" MEDIAGATE_BENCH_COMMAND="$cmdline" \
	MEDIAGATE_BENCH_VERSION="$version" MEDIAGATE_BENCH_SYSCALLS="$syscalls" MEDIAGATE_BENCH_DAEMON_ENV="$denv" MEDIAGATE_BENCH_KERNEL_ARGS="$kargs" MEDIAGATE_BENCH_STARTS="$starts" MEDIAGATE_BENCH_ICOUNT="$icount" \
	go test -count=1 -v -timeout "${timeout_min}m" -run '^TestUSBGuardSideBySide$' ./internal/bench/)
if [[ -n $profile ]]; then
	cp "$work/mediagated" "$profile.bin"
	say "CPU profile: $profile (binary $profile.bin)"
fi
say "done"
