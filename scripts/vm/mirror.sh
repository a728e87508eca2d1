#!/usr/bin/env bash
# Prints the mmdebstrap mirror lines for the bookworm guest, taken from this machine's
# own apt sources (deb822 *.sources or sources.list). MEDIAGATE_E2E_MIRROR overrides the
# main archive URI. The guest suite is always bookworm, whatever the host runs.
set -euo pipefail

main_uri=${MEDIAGATE_E2E_MIRROR:-}
security_uri=

add_uri() { # uri suite
	local uri=$1 suite=$2
	case $suite in
	*-security | */updates)
		[[ -n $security_uri ]] || security_uri=$uri ;;
	*)
		[[ -n $main_uri ]] || main_uri=$uri ;;
	esac
}

shopt -s nullglob
for f in /etc/apt/sources.list.d/*.sources; do
	# deb822: stanzas separated by blank lines; we need Types, URIs, Suites.
	while IFS=$'\t' read -r types uris suites; do
		[[ " $types " == *" deb "* ]] || continue
		for u in $uris; do
			for s in $suites; do add_uri "$u" "$s"; done
		done
	done < <(awk '
		function flush() { if (u != "") printf "%s\t%s\t%s\n", t, u, s; t = u = s = "" }
		/^[ \t]*#/ { next }
		/^[ \t]*$/ { flush(); next }
		tolower($1) == "types:" { $1 = ""; t = $0 }
		tolower($1) == "uris:" { $1 = ""; u = $0 }
		tolower($1) == "suites:" { $1 = ""; s = $0 }
		END { flush() }' "$f")
done
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
	[[ -r $f ]] || continue
	while read -r kind rest; do
		[[ $kind == deb ]] || continue
		# Drop an optional [options] block.
		rest=$(sed -E 's/^\[[^]]*\][[:space:]]*//' <<<"$rest")
		read -r u s _ <<<"$rest"
		add_uri "$u" "$s"
	done <"$f"
done

if [[ -z $main_uri ]]; then
	echo "mirror.sh: no Debian archive found in /etc/apt sources; set MEDIAGATE_E2E_MIRROR" >&2
	exit 1
fi
main_uri=${main_uri%/}
echo "deb $main_uri bookworm main"
echo "deb $main_uri bookworm-updates main"
if [[ -n $security_uri ]]; then
	echo "deb ${security_uri%/} bookworm-security main"
fi
