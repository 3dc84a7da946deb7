#!/usr/bin/env bash
# Installs a Go program from the Go module proxy (helm and crane have no current Debian package),
# cached by name and version, and prints "NAME VERSION: PATH".
# Usage: provision-go-tool.sh PACKAGE VERSION   e.g. helm.sh/helm/v3/cmd/helm v3.21.4
set -euo pipefail

package=${1:?usage: provision-go-tool.sh PACKAGE VERSION}
version=${2:?usage: provision-go-tool.sh PACKAGE VERSION}
name=$(basename "$package")
dest=${XDG_CACHE_HOME:-$HOME/.cache}/metallb-dyn6/$name-$version
if [[ -x $dest/$name ]]; then
  echo "$name $version: $dest/$name (cached)"
  exit 0
fi
# shellcheck source=go-toolchain.sh
source "$(dirname "$0")/go-toolchain.sh" 1.26
echo "[provision $name $version] go install $package@$version (first time only)" >&2
GOTOOLCHAIN=local CGO_ENABLED=0 GOBIN="$dest" "$go_bin" install "$package@$version"
echo "$name $version: $dest/$name"
