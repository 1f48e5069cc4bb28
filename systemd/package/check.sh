#!/bin/sh
# check.sh: build the Debian package twice and compare the bytes, install it,
# check what it installed, remove it, purge it, and check at each step that
# dpkg left exactly what it should. CI runs it (.ci/run) as root on Debian.
#
# Safe to run as root and idempotent: it refuses to touch a hasidecar package
# it did not install (another version, or files of the package on disk
# without the package), purges the package on any exit once it installed it,
# and removes the user hasidecar and /run/hasidecar, /var/lib/hasidecar only
# if they did not exist before it ran (and the directories only if empty).
# A package of the same version left installed by an interrupted run is
# purged first.
#
# Usage: systemd/package/check.sh   (as root; needs go, git, dpkg; installs
# the Debian package systemd with apt-get if systemd-analyze is missing)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export PATH="$PATH:/usr/local/go/bin"
pkg=hasidecar
unit=/usr/lib/systemd/system/hasidecar@.service

say() { echo "check.sh: $*"; }
die() { echo "check.sh: FAIL: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (it runs dpkg -i, -r and -P)"
if ! command -v systemd-analyze >/dev/null; then
	say "installing systemd (for systemd-analyze)"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >/dev/null
fi

tmp=$(mktemp -d)
installed_by_us=
had_user=$(getent passwd hasidecar || true)
had_run=$([ -e /run/hasidecar ] && echo yes || true)
had_var=$([ -e /var/lib/hasidecar ] && echo yes || true)

# cleanup purges what this run installed and puts back the machine as it was.
cleanup() {
	if [ -n "$installed_by_us" ] && dpkg-query -W "$pkg" >/dev/null 2>&1; then
		dpkg -P "$pkg" >/dev/null 2>&1 || echo "check.sh: cleanup: dpkg -P $pkg failed" >&2
	fi
	[ -n "$had_run" ] || rmdir /run/hasidecar 2>/dev/null || true
	[ -n "$had_var" ] || rmdir /var/lib/hasidecar 2>/dev/null || true
	if [ -z "$had_user" ] && getent passwd hasidecar >/dev/null; then
		userdel hasidecar 2>/dev/null || echo "check.sh: cleanup: userdel hasidecar failed" >&2
		groupdel hasidecar 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

status() { dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true; }

# build_twice builds into $tmp/a and $tmp/b (the second under another umask
# and time zone, which must not matter) and compares the files.
build_twice() {
	deb_a=$("$here/build.sh" "$tmp/a" | tail -n 1)
	deb_b=$(umask 0002 && TZ=Pacific/Kiritimati "$here/build.sh" "$tmp/b" | tail -n 1)
	[ "$(basename "$deb_a")" = "$(basename "$deb_b")" ] || die "two builds named differently: $deb_a, $deb_b"
	cmp "$deb_a" "$deb_b" || die "two builds of one commit differ: $deb_a $deb_b"
	deb=$deb_a
	version=$(dpkg-deb -f "$deb" Version)
	say "reproducible: two builds byte-identical, $(basename "$deb") sha256 $(sha256sum <"$deb" | cut -c1-16)"
}

# refuse_foreign stops before dpkg -i would overwrite, then remove, what this
# run does not own: another installed version, or the package's files on disk.
refuse_foreign() {
	st=$(status)
	if [ -n "$st" ] && [ "$st" != "unknown ok not-installed" ]; then
		have=$(dpkg-query -W -f='${Version}' "$pkg")
		[ "$have" = "$version" ] || die "$pkg $have is on this machine ($st): remove it first (dpkg -P $pkg)"
		say "purging $pkg $have left by an earlier run"
		dpkg -P "$pkg" >/dev/null
	fi
	dpkg-deb --fsys-tarfile "$deb" | tar -t | sed -n 's|^\./\(.*[^/]\)$|/\1|p' >"$tmp/files"
	while read -r f; do
		[ ! -e "$f" ] || die "$f exists but $pkg is not installed: installing would overwrite it"
	done <"$tmp/files"
}

check_installed() {
	[ "$(status)" = "install ok installed" ] || die "after dpkg -i: status $(status)"
	got=$(/usr/bin/hasidecar version)
	# "hasidecar VERSION (revision R, goX)": the version is the package's.
	case $got in
	"hasidecar $version" | "hasidecar $version "*) ;;
	*) die "hasidecar version printed \"$got\", want \"hasidecar $version\" first" ;;
	esac
	say "hasidecar version: $got"
	getent passwd hasidecar >/dev/null || die "postinst created no user hasidecar"
	for d in /run/hasidecar /var/lib/hasidecar; do
		got=$(stat -c '%U:%G %a' "$d" 2>/dev/null) || die "postinst did not create $d"
		[ "$got" = "hasidecar:hasidecar 750" ] || die "$d is $got, want hasidecar:hasidecar 750"
	done
	grep -q '^ExecStart=/usr/bin/hasidecar run ' "$unit" || die "$unit: ExecStart is not /usr/bin/hasidecar"
	"$root/systemd/verify.sh" "$unit"
	/usr/bin/hasidecar config check /etc/hasidecar/master.example.toml
	/usr/bin/hasidecar config check /etc/hasidecar/slave.example.toml
	/usr/bin/hasidecar config check --env /etc/hasidecar/example.env /etc/hasidecar/master.example.toml
	check_generated
}

# check_generated checks the man pages and completions, if the build had any.
check_generated() {
	pages=$(dpkg -L "$pkg" | grep '^/usr/share/man/man[1-8]/.*\.gz$' || true)
	comps=$(dpkg -L "$pkg" | grep -E '/(bash-completion/completions|zsh/vendor-completions|fish/vendor_completions\.d)/.' || true)
	for p in $pages; do
		gzip -dc "$p" | grep -q '^\.TH' || die "$p: not a man page (no .TH)"
	done
	for c in $comps; do
		[ -s "$c" ] || die "$c: empty"
	done
	say "man pages: $(echo $pages | wc -w), completions: $(echo $comps | wc -w) (none unless generated)"
}

# check_removed: after dpkg -r only the conffiles remain, and any directory of
# the package still there holds them or belongs to another package.
check_removed() {
	[ "$(status)" = "deinstall ok config-files" ] || die "after dpkg -r: status $(status)"
	left=
	while read -r p; do
		[ -e "$p" ] || [ -L "$p" ] || continue
		if grep -qxF "$p" "$tmp/conffiles"; then
			continue
		elif [ -d "$p" ] && ! [ -L "$p" ]; then
			# dpkg keeps a directory that is not empty or that another package owns.
			if [ -z "$(ls -A "$p")" ] && ! dpkg-query -S "$p" >/dev/null 2>&1; then
				left="$left $p"
			fi
		else
			left="$left $p"
		fi
	done <"$tmp/listed"
	[ -z "$left" ] || die "left behind by dpkg -r:$left"
	while read -r c; do
		[ -f "$c" ] || die "dpkg -r removed the conffile $c"
	done <"$tmp/conffiles"
	say "dpkg -r: only the $(wc -l <"$tmp/conffiles") conffiles remain"
}

check_purged() {
	st=$(status)
	[ -z "$st" ] || [ "$st" = "unknown ok not-installed" ] || die "after dpkg -P: status $st"
	while read -r c; do
		[ ! -e "$c" ] || die "dpkg -P left the conffile $c"
	done <"$tmp/conffiles"
	[ ! -d /etc/hasidecar ] || [ -n "$(ls -A /etc/hasidecar)" ] || die "dpkg -P left an empty /etc/hasidecar"
	[ -d /var/lib/hasidecar ] || die "purge removed /var/lib/hasidecar, the operator's data"
	say "dpkg -P: examples gone, /var/lib/hasidecar kept"
}

build_twice
refuse_foreign
installed_by_us=yes
dpkg -i "$deb" >/dev/null
check_installed
dpkg -L "$pkg" >"$tmp/listed"
dpkg-query -W -f='${Conffiles}\n' "$pkg" | awk 'NF { print $1 }' | sort >"$tmp/conffiles"
printf '%s\n' /etc/hasidecar/example.env /etc/hasidecar/master.example.toml /etc/hasidecar/slave.example.toml |
	cmp -s - "$tmp/conffiles" || die "conffiles are $(echo $(cat "$tmp/conffiles")), want the three examples"
dpkg -r "$pkg" >/dev/null
check_removed
dpkg -P "$pkg" >/dev/null
check_purged
say "OK: $pkg $version"
