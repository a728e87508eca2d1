#!/usr/bin/env bash
# Runs the standalone host's round trip with the built mediagate binary against two
# directories (the office server's and the host's), as an officer would with a transfer
# stick, checks that tampered, replayed and misdirected files are refused (exit 1, the
# register unchanged), and prints the files' sizes and each step's time.
# See docs/office-host.md "Standalone hosts".
set -euo pipefail

usage() {
	cat <<'EOF'
usage: scripts/standalone-roundtrip.sh [--rows N]

Builds ./cmd/mediagate (or uses $MEDIAGATE_BIN), then in a temporary directory:
server init, host init, enrolment by file, policy export/import, log export/import/ack
(twice), and a refusal of each tampered file. --rows N writes N more audit rows on the
host before the second log trip (default 200), for the figures. Needs no root and no VM.
EOF
}

rows=200
while [ $# -gt 0 ]; do
	case "$1" in
	--rows) rows="$2"; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done

cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bin=${MEDIAGATE_BIN:-}
if [ -z "$bin" ]; then
	bin="$work/mediagate"
	go build -o "$bin" ./cmd/mediagate
fi
stick="$work/stick" office="$work/office" hostdir="$work/host"
mkdir -p "$stick" "$hostdir"
export MEDIAGATE_LANG=en
srv() { MEDIAGATE_DB="$office/office.db" "$bin" --socket "$work/none.sock" "$@"; }
hst() { MEDIAGATE_DB="$hostdir/mediagate.db" "$bin" --socket "$work/none.sock" --sysfs-root "$work/empty" --udev-root "$work/empty" --dev-root "$work/empty" "$@"; }
mkdir -p "$work/empty"
step() { # step NAME cmd...: run, time it, fail loudly
	local name=$1; shift
	local t0 t1
	t0=$(date +%s%N)
	if ! "$@" >"$work/out" 2>"$work/err"; then
		echo "FAIL $name: $(cat "$work/err")" >&2
		exit 1
	fi
	t1=$(date +%s%N)
	printf '%-28s %7.1f ms\n' "$name" "$(( (t1 - t0) / 1000 ))e-3"
}
refused() { # refused WHAT cmd...: must exit 1 with one line
	local what=$1; shift
	local code=0
	"$@" >"$work/out" 2>"$work/err" || code=$?
	if [ "$code" -ne 1 ] || [ "$(wc -l <"$work/err")" -ne 1 ]; then
		echo "FAIL: $what was not refused with exit 1 and one line (exit $code): $(cat "$work/err")" >&2
		exit 1
	fi
	printf 'refused %-22s %s\n' "$what" "$(cat "$work/err")"
}
size() { stat -c %s "$1"; }

fp=$(srv --json server init --dir "$office" --name localhost --officer zhangsan | sed -n 's/.*"ca_fingerprint": *"\([0-9a-f]*\)".*/\1/p')
srv person add zhangsan --name 张三 >/dev/null
srv server host add HOST-09 --level secret >/dev/null
srv server host add HOST-10 --level secret >/dev/null
srv media register --kind usb-disk --vendor 0781 --product 5567 --serial 4C530001000001 --level secret --custodian zhangsan >/dev/null
hst host init --number HOST-09 --level secret >/dev/null

echo "== enrolment by file"
step "host enroll --request" hst host enroll --request --host HOST-09 -o "$stick/req"
step "server host enroll-file" srv server host enroll-file HOST-09 "$stick/req" -o "$stick/ans" --approve --dir "$office"
refused "replayed request" srv server host enroll-file HOST-09 "$stick/req" -o "$stick/ans2" --approve --dir "$office"
cp "$stick/ans" "$stick/ans.bad"; printf 'x' | dd of="$stick/ans.bad" bs=1 seek=400 conv=notrunc status=none
refused "altered answer" hst host enroll --response "$stick/ans.bad" --ca-fingerprint "$fp"
step "host enroll --response" hst host enroll --response "$stick/ans" --ca-fingerprint "$fp"

echo "== policy"
srv media register --kind usb-disk --vendor 0781 --product 5567 --serial 4C530001000002 --level secret --custodian zhangsan >/dev/null
cp "$hostdir/office/policy.json" "$stick/old.policy"
step "policy export" srv policy export --host HOST-09 -o "$stick/pol" --dir "$office"
srv policy export --host HOST-10 -o "$stick/pol10" --dir "$office" >/dev/null
head -c 300 "$stick/pol" >"$stick/pol.cut"
refused "truncated policy" hst policy import "$stick/pol.cut"
refused "another host's policy" hst policy import "$stick/pol10"
step "policy import" hst policy import "$stick/pol"
refused "replayed policy" hst policy import "$stick/pol"
refused "older policy" hst policy import "$stick/old.policy"

echo "== log, first trip"
step "log export" hst log export -o "$stick/log1"
step "log import" srv log import "$stick/log1" -o "$stick/ack1" --dir "$office"
refused "replayed log" srv log import "$stick/log1" -o "$stick/x" --dir "$office"
step "log ack" hst log ack "$stick/ack1"
refused "replayed ack" hst log ack "$stick/ack1"

echo "== log, second trip ($rows more rows)"
for _ in $(seq 1 "$rows"); do
	hst policy import "$stick/pol10" 2>/dev/null && exit 1 # each refusal is one audit row
done || true
step "log export" hst log export -o "$stick/log2"
cp "$stick/log2" "$stick/log2.bad"; printf 'x' | dd of="$stick/log2.bad" bs=1 seek=$(( $(size "$stick/log2") / 2 )) conv=notrunc status=none
refused "altered log" srv log import "$stick/log2.bad" -o "$stick/x" --dir "$office"
step "log import" srv log import "$stick/log2" -o "$stick/ack2" --dir "$office"
refused "older log" srv log import "$stick/log1" -o "$stick/x" --dir "$office"
step "log ack" hst log ack "$stick/ack2"
refused "older ack" hst log ack "$stick/ack1"
step "audit verify" hst audit verify

echo "== sizes"
for f in req ans pol log1 ack1 log2 ack2; do
	printf '%-6s %10d bytes\n' "$f" "$(size "$stick/$f")"
done
echo "ok: standalone round trip with $bin"
