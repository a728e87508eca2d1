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

# Build dependencies: the full binary links libudev through cgo (github.com/jochenvg/
# go-udev, the enumeration of the devices present); mediagated is built without cgo
# (build_daemon).
MEDIAGATE_BUILD_DEPS=(gcc libc6-dev pkg-config libudev-dev git ca-certificates)

# start_test_postgres starts a throw-away PostgreSQL cluster for the tests: Debian's
# postgresql package (installed if missing), initdb + pg_ctl from
# /usr/lib/postgresql/*/bin on a new temporary directory, listening only on a unix
# socket in that directory under a free port number, run as the calling user or, as
# root (initdb refuses root), as nobody. It exports MEDIAGATE_PG_DSN (superuser
# "mediagate", trusted on the socket) and MEDIAGATE_PG_DIR; stop_test_postgres stops
# it and removes the directory — call it from an EXIT trap.
start_test_postgres() {
	ensure_apt postgresql
	local bin
	bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
	if [[ -z $bin || ! -x $bin/initdb ]]; then
		echo "test: no initdb under /usr/lib/postgresql/*/bin" >&2
		return 1
	fi
	# In /tmp, not $TMPDIR: nobody must reach it, and a unix socket path must stay short.
	MEDIAGATE_PG_DIR=$(mktemp -d /tmp/mediagate-pg.XXXXXX)
	export MEDIAGATE_PG_DIR
	local as=()
	if ((EUID == 0)); then
		chown nobody: "$MEDIAGATE_PG_DIR"
		as=(runuser -u nobody --)
	fi
	local port
	port=$(free_port) || return 1
	# Durability is not wanted from a cluster thrown away after the run.
	(cd "$MEDIAGATE_PG_DIR" && "${as[@]}" "$bin/initdb" -D "$MEDIAGATE_PG_DIR/data" -U mediagate --auth=trust \
		--encoding=UTF8 --locale=C >"$MEDIAGATE_PG_DIR/initdb.log" 2>&1) || {
		cat "$MEDIAGATE_PG_DIR/initdb.log" >&2
		return 1
	}
	(cd "$MEDIAGATE_PG_DIR" && "${as[@]}" "$bin/pg_ctl" -D "$MEDIAGATE_PG_DIR/data" -l "$MEDIAGATE_PG_DIR/server.log" -w -t 60 \
		-o "-k $MEDIAGATE_PG_DIR -p $port -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
		start >/dev/null) || {
		cat "$MEDIAGATE_PG_DIR/server.log" >&2
		return 1
	}
	export MEDIAGATE_PG_DSN="postgres://mediagate@/postgres?host=$MEDIAGATE_PG_DIR&port=$port&sslmode=disable"
	echo "== PostgreSQL $("$bin/postgres" --version | awk '{print $3}') test cluster on $MEDIAGATE_PG_DIR/.s.PGSQL.$port"
}

# stop_test_postgres stops the cluster of start_test_postgres, if any, and removes it.
stop_test_postgres() {
	[[ -n ${MEDIAGATE_PG_DIR:-} && -d $MEDIAGATE_PG_DIR ]] || return 0
	local bin as=()
	bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
	((EUID == 0)) && as=(runuser -u nobody --)
	if [[ -f $MEDIAGATE_PG_DIR/data/postmaster.pid ]]; then
		(cd "$MEDIAGATE_PG_DIR" && "${as[@]}" "$bin/pg_ctl" -D "$MEDIAGATE_PG_DIR/data" -m immediate -w stop >/dev/null 2>&1) || true
	fi
	rm -rf "$MEDIAGATE_PG_DIR"
	unset MEDIAGATE_PG_DIR MEDIAGATE_PG_DSN
}

# free_port prints a TCP port on 127.0.0.1 that nothing listens on.
free_port() {
	local p i
	for ((i = 0; i < 100; i++)); do
		p=$((20000 + RANDOM % 40000))
		if ! (: <"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	echo "test: no free port found" >&2
	return 1
}

# build_daemon REPO OUT [TAG] builds mediagated (cmd/mediagated), the daemon mediagate.service
# runs, as scripts/install.sh installs it and the benchmarks measure it (scripts/e2e.sh
# builds it the same way): without cgo, so that it is one static binary — no libc,
# ld.so or libudev pages, no cgo threads, users looked up in /etc/passwd by Go itself
# (docs/performance.md, "Memory"). memory.counters makes modernc.org/libc count the
# memory it maps for SQLite, which `mediagate status` shows (two additions per region
# mapped, none per allocation). TAG adds a build tag (mediagated_profile: the CPU
# profiler, for scripts/bench-usbguard.sh --profile).
build_daemon() {
	(cd "$1" && CGO_ENABLED=0 go build -trimpath -tags "mediagate_daemon memory.counters${3:+ $3}" -o "$2" ./cmd/mediagated)
}
