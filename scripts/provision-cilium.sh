#!/usr/bin/env bash
# Builds one Cilium release's operator (the part that runs LB-IPAM) from the Go module proxy into a
# cache folder reused by every later run; nothing when it is cached.
#
# `go install github.com/cilium/cilium/operator@vX` is refused for Cilium's replace directives, so a
# throwaway wrapper module requires the release and copies them, plus two of its own:
# - github.com/osrg/gobgp/v4 at v4.7.0, the version the proxy serves that the release builds with;
# - sigs.k8s.io/mcs-api/controllers, which the proxy refuses, by a local module declaring the one
#   symbol Cilium uses from it.
# The build tag keeps the operator's IPAM to what `--ipam=kubernetes` needs (no cloud providers).
#
# Usage: provision-cilium.sh VERSION [DEST]   (default DEST: $XDG_CACHE_HOME/metallb-dyn6/cilium-VERSION)
set -euo pipefail

version=${1:?usage: provision-cilium.sh VERSION [DEST]}
dest=${2:-${XDG_CACHE_HOME:-$HOME/.cache}/metallb-dyn6/cilium-$version}
if [[ -x $dest/cilium-operator ]]; then
  echo "cilium $version: $dest (cached)"
  exit 0
fi

# shellcheck source=go-toolchain.sh
source "$(dirname "$0")/go-toolchain.sh" 1.26
log() { echo "[provision cilium $version] $*" >&2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod

log "fetching github.com/cilium/cilium@$version from the module proxy"
module=$("$go_bin" mod download -json "github.com/cilium/cilium@$version")
gomod=$(node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8")).GoMod ?? "")' <<<"$module")
[[ -n $gomod ]] || { log "the module proxy did not serve github.com/cilium/cilium@$version"; exit 1; }

mkdir -p mcs-api-controllers
cat >mcs-api-controllers/go.mod <<'EOF'
module sigs.k8s.io/mcs-api/controllers

go 1.21
EOF
cat >mcs-api-controllers/controllers.go <<'EOF'
// Package controllers stands in for sigs.k8s.io/mcs-api/controllers, which the module proxy
// refuses: Cilium uses this one constant from it.
package controllers

const DerivedServiceAnnotation = "multicluster.kubernetes.io/derived-service"
EOF

wrapper_module cilium-build "github.com/cilium/cilium@$version" "$gomod"
"$go_bin" mod edit \
  -replace=github.com/osrg/gobgp/v4=github.com/osrg/gobgp/v4@v4.7.0 \
  -replace=sigs.k8s.io/mcs-api/controllers=./mcs-api-controllers

log "building the operator (first time only; about 11 minutes on 2 cores)"
rm -rf "$dest.partial"
mkdir -p "$dest.partial"
CGO_ENABLED=0 "$go_bin" build -trimpath -tags ipam_provider_operator \
  -o "$dest.partial/cilium-operator" github.com/cilium/cilium/operator
rm -rf "$dest"
mv "$dest.partial" "$dest"
echo "cilium $version: $dest"
