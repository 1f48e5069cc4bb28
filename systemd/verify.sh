#!/bin/sh
# verify.sh: check the unit files with systemd-analyze verify; exit non-zero
# on any warning about them.
#
# systemd-analyze verify needs the ExecStart binary to exist, so the unit is
# copied into a temporary directory with ExecStart pointing at a freshly built
# hasidecar (or, with HASIDECAR_BIN=/path, that binary). The template is
# verified as an instance, hasidecar@verify.service.
#
# With unit files as arguments (an installed unit), verify.sh checks those
# instead, as they are: no binary is built and ExecStart is not rewritten, so
# a wrong path in them fails.
#
# Usage: systemd/verify.sh            (from anywhere in the repository)
#        systemd/verify.sh UNIT...    (e.g. /usr/lib/systemd/system/hasidecar@.service)
# Needs: systemd-analyze (Debian/Ubuntu package "systemd"), go (unless HASIDECAR_BIN).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

bin=
if [ $# -eq 0 ]; then
	set -- "$here"/*.service
	bin=${HASIDECAR_BIN:-}
	if [ -z "$bin" ]; then
		bin=$tmp/bin/hasidecar
		(cd "$root" && go build -o "$bin" ./cmd/hasidecar)
	fi
	[ -x "$bin" ] || { echo "verify.sh: $bin is not an executable" >&2; exit 2; }
fi

status=0
for unit in "$@"; do
	name=$(basename "$unit")
	case $name in
	*@.service) inst=${name%@.service}@verify.service ;;
	*) inst=$name ;;
	esac
	if [ -n "$bin" ]; then
		sed "s|/usr/local/bin/hasidecar|$bin|g" "$unit" >"$tmp/$inst"
	else
		cp "$unit" "$tmp/$inst"
	fi
	# verify prints problems on stderr; problems with other units on this
	# machine are not ours, so keep only the lines about this unit.
	out=$(cd "$tmp" && SYSTEMD_LOG_COLOR=0 systemd-analyze verify --man=no "$tmp/$inst" 2>&1) || {
		echo "$out" >&2
		echo "verify.sh: $name: systemd-analyze verify failed" >&2
		status=1
		continue
	}
	ours=$(printf '%s\n' "$out" | grep -F -e "$inst" -e "$tmp" || true)
	if [ -n "$ours" ]; then
		printf '%s\n' "$ours" >&2
		echo "verify.sh: $name: warnings" >&2
		status=1
		continue
	fi
	echo "verify.sh: $name: OK"
done
exit $status
