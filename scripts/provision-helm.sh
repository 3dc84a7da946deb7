#!/usr/bin/env bash
# Installs helm from the Go module proxy (Debian has no helm package), cached by version.
# Usage: provision-helm.sh [VERSION] [DEST]   (default: v3.22.0 into $XDG_CACHE_HOME/metallb-dyn6/helm-VERSION)
set -euo pipefail

version=${1:-v3.22.0}
dest=${2:-${XDG_CACHE_HOME:-$HOME/.cache}/metallb-dyn6/helm-$version}
if [[ -x $dest/helm ]]; then
  echo "helm $version: $dest/helm (cached)"
  exit 0
fi
# shellcheck source=go-toolchain.sh
source "$(dirname "$0")/go-toolchain.sh" 1.26
echo "[provision helm $version] go install helm.sh/helm/v3/cmd/helm@$version (first time only)" >&2
GOTOOLCHAIN=local CGO_ENABLED=0 GOBIN="$dest" "$go_bin" install "helm.sh/helm/v3/cmd/helm@$version"
echo "helm $version: $dest/helm"
