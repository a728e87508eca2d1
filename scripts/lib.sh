# Shared by mediagate's scripts: install missing Debian packages and a Go toolchain.
# Source it; it defines functions only.

# The Go version mediagate is built with (go.mod's go line).
MEDIAGATE_GO_VERSION=${MEDIAGATE_GO_VERSION:-1.26.8}

as_root() {
	if ((EUID == 0)); then "$@"; else sudo "$@"; fi
}

# ensure_apt PKG... installs the packages that are not installed yet.
ensure_apt() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	echo "installing Debian packages: ${missing[*]}" >&2
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# go_ok CMD succeeds when CMD is a Go at least as new as MEDIAGATE_GO_VERSION.
go_ok() {
	local v
	v=$("$1" env GOVERSION 2>/dev/null) || return 1
	v=${v#go}
	[[ $(printf '%s\n%s\n' "$MEDIAGATE_GO_VERSION" "$v" | sort -V | head -n1) == "$MEDIAGATE_GO_VERSION" ]]
}

# ensure_go puts a Go toolchain of at least MEDIAGATE_GO_VERSION first on PATH. It uses
# the one on PATH or in /usr/local/go when new enough; otherwise it installs Debian's
# Go and with it fetches the toolchain from the Go module proxy (golang.org/toolchain)
# into /usr/local/lib/mediagate/go$MEDIAGATE_GO_VERSION.
ensure_go() {
	local c
	for c in "$(command -v go 2>/dev/null)" /usr/local/go/bin/go "/usr/local/lib/mediagate/go$MEDIAGATE_GO_VERSION/bin/go"; do
		if [[ -n $c && -x $c ]] && go_ok "$c"; then
			export PATH="$(dirname "$c"):$PATH"
			return 0
		fi
	done
	echo "fetching Go $MEDIAGATE_GO_VERSION through the Go module proxy" >&2
	ensure_apt golang-go ca-certificates
	local tmp dest mod
	tmp=$(mktemp -d)
	dest=/usr/local/lib/mediagate/go$MEDIAGATE_GO_VERSION
	mod=golang.org/toolchain@v0.0.1-go$MEDIAGATE_GO_VERSION.linux-$(dpkg --print-architecture)
	(cd "$tmp" && GOPATH=$tmp/gopath GOMODCACHE=$tmp/gopath/pkg/mod GOFLAGS=-mod=mod /usr/bin/go mod download "$mod")
	as_root mkdir -p "$(dirname "$dest")"
	as_root rm -rf "$dest"
	as_root cp -r "$tmp/gopath/pkg/mod/$mod" "$dest"
	as_root chmod -R u+w,a+rX "$dest"
	as_root find "$dest/bin" "$dest/pkg/tool" -type f -exec chmod a+x {} +
	chmod -R u+w "$tmp" && rm -rf "$tmp"
	go_ok "$dest/bin/go" || { echo "Go $MEDIAGATE_GO_VERSION could not be installed" >&2; return 1; }
	export PATH="$dest/bin:$PATH"
}

# Build dependencies: cgo links libudev (github.com/jochenvg/go-udev).
MEDIAGATE_BUILD_DEPS=(gcc libc6-dev pkg-config libudev-dev git ca-certificates)
