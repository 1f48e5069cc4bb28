#!/bin/sh
# check.sh: check and unit-test the Prometheus rules with promtool. CI runs
# it (.ci/run) after the package check.
#
# promtool, when missing, comes from Debian's package prometheus, which has
# no promtool-only sibling. The package is downloaded and only its
# /usr/bin/promtool is extracted to /usr/local/bin (it needs only libc):
# installing the package would run its maintainer scripts, which start the
# prometheus server (through /etc/init.d/prometheus on a machine without
# systemd), and leave a daemon listening on :9090 behind.
#
# Usage: systemd/monitoring/check.sh   (installing promtool needs root and apt)
set -eu

here=$(cd "$(dirname "$0")" && pwd)

say() { echo "monitoring/check.sh: $*"; }
die() { echo "monitoring/check.sh: FAIL: $*" >&2; exit 1; }

install_promtool() {
	[ "$(id -u)" -eq 0 ] || die "promtool missing, and installing it needs root"
	say "installing promtool from Debian's package prometheus"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	apt-get update -qq
	(cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root prometheus) ||
		die "apt-get download prometheus"
	dpkg-deb --fsys-tarfile "$tmp"/prometheus_*.deb | tar -x -C "$tmp" ./usr/bin/promtool ||
		die "extract promtool from $(ls "$tmp"/prometheus_*.deb)"
	install -m 0755 "$tmp/usr/bin/promtool" /usr/local/bin/promtool
	rm -rf "$tmp"
	trap - EXIT
}

command -v promtool >/dev/null || install_promtool
promtool --version 2>&1 | head -1
cd "$here"
promtool check rules hasidecar.rules.yml || die "promtool check rules"
promtool test rules hasidecar.rules.test.yml || die "promtool test rules"
say "rules checked and tested"
