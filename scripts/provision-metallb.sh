#!/usr/bin/env bash
# Builds one MetalLB release's controller and speaker from the Go module proxy, with the CRDs and RBAC
# of the same release, into a cache folder reused by every later run. Only what is missing is built.
#
# `go install go.universe.tf/metallb/controller@vX` is refused because MetalLB's go.mod carries
# replace directives, so a throwaway wrapper module requires the release and copies those directives.
#
# Usage: provision-metallb.sh VERSION [DEST]   (default DEST: $XDG_CACHE_HOME/metallb-dyn6/metallb-VERSION)
set -euo pipefail

version=${1:?usage: provision-metallb.sh VERSION [DEST]}
dest=${2:-${XDG_CACHE_HOME:-$HOME/.cache}/metallb-dyn6/metallb-$version}
if [[ -x $dest/controller && -x $dest/speaker && -d $dest/crd && -d $dest/rbac ]]; then
  echo "metallb $version: $dest (cached)"
  exit 0
fi

# shellcheck source=go-toolchain.sh
source "$(dirname "$0")/go-toolchain.sh" 1.22
log() { echo "[provision metallb $version] $*" >&2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod

log "fetching go.universe.tf/metallb@$version from the module proxy"
module=$("$go_bin" mod download -json "go.universe.tf/metallb@$version")
field() { node -e 'const m = JSON.parse(require("fs").readFileSync(0, "utf8")); process.stdout.write(m[process.argv[1]] ?? "")' "$1" <<<"$module"; }
src=$(field Dir)
gomod=$(field GoMod)
[[ -d $src/config/crd/bases && -d $src/config/rbac ]] || { log "the module has no config/crd/bases or config/rbac"; exit 1; }

wrapper_module metallb-build "go.universe.tf/metallb@$version" "$gomod"

rm -rf "$dest.partial"
mkdir -p "$dest.partial"
for binary in controller speaker; do
  if [[ -x $dest/$binary ]]; then
    cp "$dest/$binary" "$dest.partial/$binary"
    continue
  fi
  # The speaker in layer 2 mode only: no FRR is built in or needed.
  log "building the $binary (first time only; a few minutes)"
  CGO_ENABLED=0 "$go_bin" build -trimpath -o "$dest.partial/$binary" "go.universe.tf/metallb/$binary"
done
cp -r "$src/config/crd/bases" "$dest.partial/crd"
cp -r "$src/config/rbac" "$dest.partial/rbac"
chmod -R u+w "$dest.partial"
rm -rf "$dest"
mv "$dest.partial" "$dest"
echo "metallb $version: $dest"
