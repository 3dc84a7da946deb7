#!/usr/bin/env bash
# Builds a current test control plane from the Go module proxy: kube-apiserver,
# kube-controller-manager and kube-proxy (the home-network tests' node) of k8s.io/kubernetes VERSION,
# and an etcd it supports, cached by version. Only what is missing from DEST is built.
#
# k8s.io/kubernetes requires its staging modules (k8s.io/api, k8s.io/client-go, ...) at v0.0.0 and
# points them at its own tree with replace directives, so `go install` cannot build it: a throwaway
# wrapper module replaces each of them with its published tag (v0.MINOR.PATCH). etcd's own main
# module replaces its siblings with local paths too, so the wrapper holds the two lines of its main.
#
# Usage: provision-kubernetes.sh VERSION ETCD_VERSION [DEST]
#   e.g. provision-kubernetes.sh v1.37.2 v3.6.16  (DEST: $XDG_CACHE_HOME/metallb-dyn6/k8s-VERSION/bin)
set -euo pipefail

version=${1:?usage: provision-kubernetes.sh VERSION ETCD_VERSION [DEST]}
etcd_version=${2:?usage: provision-kubernetes.sh VERSION ETCD_VERSION [DEST]}
dest=${3:-${XDG_CACHE_HOME:-$HOME/.cache}/metallb-dyn6/k8s-${version#v}/bin}
components=(kube-apiserver kube-controller-manager kube-proxy)
have_all() { for b in etcd "${components[@]}"; do [[ -x $dest/$b ]] || return 1; done; }
if have_all; then
  echo "control plane $version: $dest (cached)"
  exit 0
fi

# shellcheck source=go-toolchain.sh
source "$(dirname "$0")/go-toolchain.sh" 1.24
log() { echo "[provision kubernetes $version] $*" >&2; }
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
mkdir -p "$dest"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- kube-apiserver, kube-controller-manager, kube-proxy
mkdir "$work/k8s" && cd "$work/k8s"
log "fetching k8s.io/kubernetes@$version from the module proxy"
gomod=$("$go_bin" mod download -json "k8s.io/kubernetes@$version" |
  node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8")).GoMod)')
staging_tag="v0.${version#v1.}"
"$go_bin" mod init k8s-build >/dev/null 2>&1
"$go_bin" mod edit -require="k8s.io/kubernetes@$version"
mapfile -t replaces < <("$go_bin" mod edit -json "$gomod" | node -e '
  const m = JSON.parse(require("fs").readFileSync(0, "utf8"));
  for (const r of m.Require ?? [])
    if (r.Version === "v0.0.0") console.log(`-replace=${r.Path}=${r.Path}@${process.argv[1]}`);' "$staging_tag")
((${#replaces[@]} > 0)) || { log "no staging modules found in $gomod"; exit 1; }
"$go_bin" mod edit "${replaces[@]}"
# The version the apiserver reports (/version), as a release build stamps it.
minor=${version#v1.}
minor=${minor%%.*}
ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
done
for component in "${components[@]}"; do
  if [[ -x $dest/$component ]]; then continue; fi
  log "building $component (first time only; several minutes)"
  "$go_bin" build -trimpath -ldflags "$ldflags" -o "$dest/$component.partial" "k8s.io/kubernetes/cmd/$component"
  mv "$dest/$component.partial" "$dest/$component"
done

# --- etcd
if [[ -x $dest/etcd ]]; then
  echo "control plane $version: $dest"
  exit 0
fi
mkdir "$work/etcd" && cd "$work/etcd"
log "building etcd $etcd_version"
"$go_bin" mod init etcd-build >/dev/null 2>&1
cat >main.go <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
"$go_bin" get "go.etcd.io/etcd/server/v3@$etcd_version" >/dev/null 2>&1
"$go_bin" build -trimpath -o "$dest/etcd.partial" .
mv "$dest/etcd.partial" "$dest/etcd"
echo "control plane $version: $dest"
