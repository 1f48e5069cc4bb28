#!/bin/sh
# build.sh: build the Debian package hasidecar_<version>_amd64.deb with nfpm
# (a Go tool dependency of the module: go tool nfpm).
#
# Reproducible: two builds of the same commit give byte-identical files. The
# binary is built with -trimpath and CGO_ENABLED=0; every file in the package
# gets its mode from nfpm.yaml and its time from SOURCE_DATE_EPOCH (default:
# the last commit's time); generated man pages are gzipped with -n.
#
# The version (VERSION overrides it): X.Y.Z when HEAD is tagged vX.Y.Z, else
# the newest release in CHANGELOG.md followed by +gitYYYYMMDD.HASH (the commit
# date), and .dirty when tracked files differ from HEAD. The binary gets it
# through -X main.version.
#
# Generated files, included when present and skipped when not (GEN_DIR,
# default systemd/package/gen):
#   man/*.[1-8]                  -> /usr/share/man/manN/*.N.gz
#   completions/hasidecar.bash   -> /usr/share/bash-completion/completions/hasidecar
#   completions/_hasidecar       -> /usr/share/zsh/vendor-completions/_hasidecar
#   completions/hasidecar.fish   -> /usr/share/fish/vendor_completions.d/hasidecar.fish
#
# Usage: systemd/package/build.sh [OUTDIR]   (default systemd/package/dist)
# Prints the package's path on its last line. Needs: go, git, gzip.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$here/dist}
gen=${GEN_DIR:-$here/gen}

die() { echo "build.sh: $*" >&2; exit 1; }

# version prints the package version derived from git and CHANGELOG.md.
version() {
	if tag=$(git -C "$root" describe --tags --exact-match --match 'v[0-9]*' 2>/dev/null); then
		v=${tag#v}
	else
		base=$(sed -n 's/^## \[\([0-9][0-9A-Za-z.]*\)\].*/\1/p' "$root/CHANGELOG.md" | head -n 1)
		[ -n "$base" ] || base=0.0.0
		date=$(TZ=UTC git -C "$root" log -1 --date=format-local:%Y%m%d --format=%cd)
		v=$base+git$date.$(git -C "$root" rev-parse --short=12 HEAD)
	fi
	git -C "$root" diff --quiet HEAD -- || v=$v.dirty
	echo "$v"
}

VERSION=${VERSION:-$(version)}
# Debian's rule for an upstream version without epoch or revision.
echo "$VERSION" | grep -Eq '^[0-9][A-Za-z0-9.+~]*$' ||
	die "version \"$VERSION\" is not a Debian version (digits first, then [A-Za-z0-9.+~])"
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct)}
export VERSION SOURCE_DATE_EPOCH

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT INT TERM
STAGE=$stage
export STAGE

(cd "$root" && CGO_ENABLED=0 GOOS=linux GOARCH=amd64 \
	go build -trimpath -ldflags "-X main.version=$VERSION" -o "$stage/hasidecar" ./cmd/hasidecar)

# The packaged unit runs the packaged binary; the source unit keeps
# /usr/local/bin, where systemd/README.md installs it by hand.
sed 's|^ExecStart=/usr/local/bin/hasidecar |ExecStart=/usr/bin/hasidecar |' \
	"$root/systemd/hasidecar@.service" >"$stage/hasidecar@.service"
grep -q '^ExecStart=/usr/bin/hasidecar ' "$stage/hasidecar@.service" &&
	! grep -q /usr/local/bin "$stage/hasidecar@.service" ||
	die "systemd/hasidecar@.service: ExecStart is not /usr/local/bin/hasidecar ...: update the sed here"

cp "$here/nfpm.yaml" "$stage/nfpm.yaml"
. "$here/gen.sh"
add_generated "$gen" "$stage"

mkdir -p "$out"
deb=$out/hasidecar_${VERSION}_amd64.deb
rm -f "$deb"
(cd "$root" && go tool nfpm package --config "$stage/nfpm.yaml" --packager deb --target "$deb" >&2)
echo "$deb"
