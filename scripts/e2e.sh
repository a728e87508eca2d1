#!/usr/bin/env bash
# Runs mediagate's end-to-end suite in a QEMU guest with a real kernel USB stack.
# See docs/testing.md and `scripts/e2e.sh --help`.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: scripts/e2e.sh [--rebuild] [--keep] [--run REGEXP]

Runs the end-to-end suite (internal/e2e) in a headless QEMU guest (Debian bookworm,
TCG, qemu-xhci) into which the tests hot-plug USB sticks, CD drives, keyboards and
network cards, and prints a pass/fail report. Exits non-zero if anything failed.

Steps: install missing Debian packages (apt-get), build or reuse the cached guest image,
build ./cmd/mediagate and ./cmd/mediagated if they exist (installed in the guest in
/usr/local/bin; mediagate.service runs mediagated),
boot the guest once, run the scenarios, stop the guest.

  --rebuild      build the guest image even if a cached one matches
  --keep         keep the run's work directory (console log, QMP socket, share) on success
  --run REGEXP   run only the scenarios matching REGEXP (go test -run)
  -h, --help     this text

Environment:
  MEDIAGATE_E2E_CACHE   image cache (default ${XDG_CACHE_HOME:-$HOME/.cache}/mediagate-e2e);
                        an image is keyed by a hash of scripts/vm's build inputs
  MEDIAGATE_E2E_MIRROR  Debian archive URI (default: from this machine's apt sources)

Needs root (apt-get, mmdebstrap) the first time; about 75 s to build the image on 2 cores,
then 30-70 s per run with a cached image (docs/testing.md).
EOF
}

rebuild=0 keep=0 run_re=
while (($#)); do
	case $1 in
	-h | --help) usage; exit 0 ;;
	--rebuild) rebuild=1 ;;
	--keep) keep=1 ;;
	--run) run_re=${2:?--run needs a regexp}; shift ;;
	--run=*) run_re=${1#--run=} ;;
	*) echo "e2e: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done

repo=$(cd "$(dirname "$0")/.." && pwd)
vmdir=$repo/scripts/vm
cache=${MEDIAGATE_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mediagate-e2e}
t0=$SECONDS
say() { printf 'e2e [%3ds] %s\n' $((SECONDS - t0)) "$*"; }

# shellcheck source=scripts/lib.sh
. "$repo/scripts/lib.sh" # as_root, build_daemon

# --- 1. packages --------------------------------------------------------------------------
packages=(qemu-system-x86 qemu-utils mmdebstrap dosfstools mtools fdisk xorriso cpio
	busybox-static e2fsprogs debian-archive-keyring)
have_mediagate=0
if compgen -G "$repo/cmd/mediagate/*.go" >/dev/null; then
	have_mediagate=1
	packages+=(gcc pkg-config libudev-dev) # cgo: the full binary's go-udev links libudev
fi
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	say "installing ${missing[*]}"
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v go >/dev/null || { echo "e2e: go is not on PATH" >&2; exit 1; }

# --- 2. guest image -----------------------------------------------------------------------
key=$(cd "$vmdir" && cat packages.txt build-image.sh build-initramfs.sh image/* | sha256sum | cut -c1-16)
img=$cache/images/$key
mkdir -p "$cache/images"
exec 9>"$cache/lock"
flock 9 # one image build at a time
if ((rebuild)) || [[ ! -e $img/ok ]]; then
	say "building the guest image $key (mmdebstrap; about 75 s)"
	b0=$SECONDS
	rm -rf "$img" "$img.tmp"
	as_root "$vmdir/build-image.sh" "$img.tmp"
	touch "$img.tmp/ok"
	mv "$img.tmp" "$img"
	say "guest image built in $((SECONDS - b0)) s"
	# Drop images of older build inputs.
	for old in "$cache"/images/*; do
		[[ $old == "$img" ]] || rm -rf "$old"
	done
else
	say "using the cached guest image $key ($img)"
fi
flock -u 9

# One guest at a time on this machine: two TCG guests on 2 cores slow each other past
# the scenarios' timeouts. The lock is released when this script exits.
exec 8>"$cache/vm.lock"
if ! flock -n 8; then
	say "waiting for another end-to-end run on this machine to finish"
	flock 8
fi

# --- 3. work dir, clean-up on every exit ---------------------------------------------------
work=$(mktemp -d /tmp/mge2e.XXXXXX) # short: unix socket paths are limited
cleanup() {
	local rc=$?
	# The test binary stops QEMU itself; this catches a killed or crashed test run.
	# Only the QEMU this run started (its pidfile), never anything else.
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
		echo "e2e: logs kept in $work (console.log, qemu.log, share/cmd/)" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 4. mediagate binary --------------------------------------------------------------------
bin= dbin=
if ((have_mediagate)); then
	say "building ./cmd/mediagate"
	(cd "$repo" && go build -o "$work/mediagate" ./cmd/mediagate)
	bin=$work/mediagate
	if [[ -d $repo/cmd/mediagated ]]; then
		say "building ./cmd/mediagated (the daemon mediagate.service runs)"
		build_daemon "$repo" "$work/mediagated"
		dbin=$work/mediagated
	fi
else
	say "no ./cmd/mediagate yet: running the test bed's own scenarios only"
fi

# --- 5. scenarios ---------------------------------------------------------------------------
say "booting the guest and running the scenarios"
# The scenarios take 10–17 min on an idle 2-core host; 50 min leaves room for a host
# shared with other guests (42 of 45 scenarios took 31 min with two benchmark guests
# beside them) inside CI's 90.
args=(test -v -count=1 -timeout 50m ./internal/e2e/)
[[ -n $run_re ]] && args+=(-run "$run_re")
set +e
(cd "$repo" && MEDIAGATE_E2E=1 MEDIAGATE_E2E_IMAGE="$img" MEDIAGATE_E2E_WORKDIR="$work" \
	MEDIAGATE_BIN="$bin" MEDIAGATE_DAEMON_BIN="$dbin" go "${args[@]}") 2>&1 | tee "$work/go-test.log"
rc=${PIPESTATUS[0]}
set -e

# --- 6. report ------------------------------------------------------------------------------
echo
echo "==================== mediagate end-to-end report ===================="
awk '
	/^ *--- (PASS|FAIL|SKIP): / {
		st = $2; sub(":", "", st); name = $3; dur = $4
		printf "  %-4s  %-50s %s\n", st, name, dur
		n[st]++
	}
	END { printf "\n%d passed, %d failed, %d skipped\n", n["PASS"], n["FAIL"], n["SKIP"] }
' "$work/go-test.log"
if ((rc != 0)); then
	grep -q -- '--- FAIL' "$work/go-test.log" || echo "(go test exited $rc before reporting: boot or build failure, see above)"
	echo "RESULT: FAIL (exit $rc) after $((SECONDS - t0)) s"
	exit "$rc"
fi
echo "RESULT: PASS after $((SECONDS - t0)) s"
