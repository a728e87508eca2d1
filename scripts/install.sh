#!/usr/bin/env bash
# Installs mediagate on this Debian/Ubuntu machine: build dependencies, a Go toolchain if
# needed, the binaries at /usr/local/bin/mediagate (the command) and mediagated (the
# daemon mediagate.service runs, small in memory) and the registry directory.
# Usage: sudo scripts/install.sh [--prefix DIR] [--root DIR] [--bin FILE [--daemon-bin FILE]] [--server]
#   --root DIR  install into DIR (a chroot, an image, a test) and start nothing there
#   --bin FILE  install this mediagate binary instead of building one (no apt, no Go);
#               without --daemon-bin the unit runs 'mediagate daemon'
#   --daemon-bin FILE  install this mediagated binary (with --bin)
#   --server    also install the office server (mediagate-server.service, docs/office.md)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$repo/scripts/lib.sh"

prefix=/usr/local
root=/
bin=
dbin=
server=0
while (($#)); do
	case $1 in
	--prefix) prefix=${2:?--prefix needs a directory}; shift ;;
	--root) root=${2:?--root needs a directory}; shift ;;
	--bin) bin=${2:?--bin needs a file}; shift ;;
	--daemon-bin) dbin=${2:?--daemon-bin needs a file}; shift ;;
	--server) server=1 ;;
	-h | --help) sed -n '2,10p' "$0"; exit 0 ;;
	*) echo "install: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
root=${root%/}
# sudo only for the real system; a --root tree belongs to whoever runs this.
as_target() {
	if [[ -z $root ]]; then as_root "$@"; else "$@"; fi
}

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if [[ -z $bin ]]; then
	ensure_apt "${MEDIAGATE_BUILD_DEPS[@]}"
	ensure_go
	version=$(git -C "$repo" describe --always --dirty 2>/dev/null || echo dev)
	(cd "$repo" && go build -trimpath -ldflags "-X mediagate/internal/cli.Version=$version" -o "$out/mediagate" ./cmd/mediagate)
	# The daemon without the front ends, the office server, PostgreSQL and spreadsheets
	# (docs/performance.md, "Memory").
	build_daemon "$repo" "$out/mediagated"
	bin=$out/mediagate
	dbin=$out/mediagated
fi
as_target install -D -m 0755 "$bin" "$root$prefix/bin/mediagate"
if [[ -n $dbin ]]; then
	as_target install -D -m 0755 "$dbin" "$root$prefix/bin/mediagated"
fi
as_target install -d -m 0750 "$root/var/lib/mediagate"
echo "installed $root$prefix/bin/mediagate ($("$root$prefix/bin/mediagate" version))${dbin:+ and mediagated}"

# --- man pages, generated from the commands: English and Chinese ----------------------------
man=$(mktemp -d)
"$bin" --lang en man --dir "$man/en" >/dev/null
"$bin" --lang zh man --dir "$man/zh" >/dev/null
as_target install -d -m 0755 "$root$prefix/share/man/man1" "$root$prefix/share/man/zh_CN/man1"
as_target install -m 0644 "$man"/en/*.1 "$root$prefix/share/man/man1/"
as_target install -m 0644 "$man"/zh/*.1 "$root$prefix/share/man/zh_CN/man1/"
rm -rf "$man"
echo "installed man pages in $root$prefix/share/man (man mediagate, LANG=zh_CN.UTF-8 man mediagate)"

# --- the daemon: udev rules and systemd unit (docs/daemon.md) -------------------------------
# MEDIAGATE_NO_DAEMON=1 installs the binary only. Without a running systemd (a container,
# a chroot) the files are installed but nothing is started.
if [[ ${MEDIAGATE_NO_DAEMON:-0} != 1 ]]; then
	as_target install -D -m 0644 "$repo/rules/71-mediagate.rules" "$root/etc/udev/rules.d/71-mediagate.rules"
	unit=$(mktemp)
	if [[ -n $dbin ]]; then
		sed "s|/usr/local/bin/mediagate|$prefix/bin/mediagate|g" "$repo/scripts/systemd/mediagate.service" >"$unit"
	else # no mediagated: the full binary's daemon command
		sed -e "s|^ExecStart=/usr/local/bin/mediagated |ExecStart=$prefix/bin/mediagate daemon |" \
			-e "s|/usr/local/bin/mediagate|$prefix/bin/mediagate|g" "$repo/scripts/systemd/mediagate.service" >"$unit"
	fi
	as_target install -D -m 0644 "$unit" "$root/etc/systemd/system/mediagate.service"
	rm -f "$unit"
	# Close the boot window: usbcore.authorized_default=0 on the kernel command line
	# (a GRUB drop-in; without GRUB this says what it could not do and goes on).
	# MEDIAGATE_NO_BOOTPARAM=1 leaves the kernel command line alone.
	if [[ ${MEDIAGATE_NO_BOOTPARAM:-0} != 1 ]]; then
		as_target "$repo/scripts/bootparam.sh" install --root "${root:-/}"
	fi
	if [[ -z $root && -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
		as_root udevadm control --reload 2>/dev/null || true
		as_root systemctl daemon-reload
		as_root systemctl enable --now mediagate.service
		echo "mediagate.service enabled and started; 'mediagate status' shows it"
		echo "note: until 'mediagate host init' runs, the daemon blocks all storage (fail closed)"
	elif [[ -n $root ]]; then
		echo "installed into $root: rules and unit in place, nothing started"
	else
		echo "systemd is not running here: rules and unit installed, daemon not started"
		echo "(start it with 'systemctl enable --now mediagate' on a systemd host, or run 'mediagate daemon')"
	fi
fi

# --- the office server (docs/office.md) -----------------------------------------------------
# Installed and enabled; it starts once `mediagate server init` has made its keys.
if [[ $server == 1 ]]; then
	as_target install -d -m 0700 "$root/var/lib/mediagate-server"
	unit=$(mktemp)
	sed "s|/usr/local/bin/mediagate|$prefix/bin/mediagate|g" "$repo/scripts/systemd/mediagate-server.service" >"$unit"
	as_target install -D -m 0644 "$unit" "$root/etc/systemd/system/mediagate-server.service"
	rm -f "$unit"
	if [[ -z $root && -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
		as_root systemctl daemon-reload
		as_root systemctl enable mediagate-server.service
	fi
	echo "office server installed: run 'mediagate server init --name NAME --officer HANDLE', then 'systemctl start mediagate-server'"
fi
