#!/usr/bin/env bash
# Installs mediagate on this Debian/Ubuntu machine: build dependencies, a Go toolchain if
# needed, the binary at /usr/local/bin/mediagate and the registry directory.
# Usage: sudo scripts/install.sh [--prefix DIR]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$repo/scripts/lib.sh"

prefix=/usr/local
while (($#)); do
	case $1 in
	--prefix) prefix=${2:?--prefix needs a directory}; shift ;;
	-h | --help) sed -n '2,4p' "$0"; exit 0 ;;
	*) echo "install: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done

ensure_apt "${MEDIAGATE_BUILD_DEPS[@]}"
ensure_go
version=$(git -C "$repo" describe --always --dirty 2>/dev/null || echo dev)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
(cd "$repo" && go build -trimpath -ldflags "-X mediagate/internal/cli.Version=$version" -o "$out/mediagate" ./cmd/mediagate)
as_root install -D -m 0755 "$out/mediagate" "$prefix/bin/mediagate"
as_root install -d -m 0750 /var/lib/mediagate
echo "installed $prefix/bin/mediagate ($("$prefix/bin/mediagate" version))"

# --- the daemon: udev rules and systemd unit (docs/daemon.md) -------------------------------
# MEDIAGATE_NO_DAEMON=1 installs the binary only. Without a running systemd (a container,
# a chroot) the files are installed but nothing is started.
if [[ ${MEDIAGATE_NO_DAEMON:-0} != 1 ]]; then
	as_root install -D -m 0644 "$repo/rules/71-mediagate.rules" /etc/udev/rules.d/71-mediagate.rules
	unit=$(mktemp)
	sed "s|/usr/local/bin/mediagate|$prefix/bin/mediagate|g" "$repo/scripts/systemd/mediagate.service" >"$unit"
	as_root install -D -m 0644 "$unit" /etc/systemd/system/mediagate.service
	rm -f "$unit"
	if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
		as_root udevadm control --reload 2>/dev/null || true
		as_root systemctl daemon-reload
		as_root systemctl enable --now mediagate.service
		echo "mediagate.service enabled and started; 'mediagate status' shows it"
		echo "note: until 'mediagate host init' runs, the daemon blocks all storage (fail closed)"
	else
		echo "systemd is not running here: rules and unit installed, daemon not started"
		echo "(start it with 'systemctl enable --now mediagate' on a systemd host, or run 'mediagate daemon')"
	fi
fi
