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
