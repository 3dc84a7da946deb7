#!/usr/bin/env bash
# Provisions etcd, kube-apiserver and kube-controller-manager for the test control plane, and
# kube-proxy for the home-network tests' node. Only what is missing from DEST is built.
#
# No container registry or release download is reachable from our machines, so the binaries come
# from Debian: etcd-server as a package, the Kubernetes components built from Debian's
# `kubernetes` source package (1.20.2, vendored). The result is cached outside the repository and
# reused by every later run; the build tree is removed once the binaries are in place.
#
# Usage: provision-control-plane.sh [DEST]   (default: $XDG_CACHE_HOME/metallb-dyn6/k8s-1.20.2/bin)
set -euo pipefail

dest=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/metallb-dyn6/k8s-1.20.2/bin}
components=(kube-apiserver kube-controller-manager kube-proxy)

have_all() {
  for b in etcd "${components[@]}"; do [[ -x "$dest/$b" ]] || return 1; done
}
if have_all; then
  echo "control plane binaries: $dest (cached)"
  exit 0
fi

log() { echo "[provision] $*" >&2; }
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

apt_packages=(golang-go etcd-server golang-github-modern-go-reflect2-dev dpkg-dev openssl)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
src_list=/etc/apt/sources.list.d/metallb-dyn6-deb-src.sources
need_src_entry=false
apt-cache showsrc kubernetes 2>/dev/null | grep -q '^Package: kubernetes' || need_src_entry=true
if $need_src_entry; then
  # Mirror the machine's own configured Debian archive (never a host of ours): the deb822 stanza or
  # one-line entry that carries the running release's main suite, turned into its deb-src twin.
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:?}")
  uri=$(awk -v suite="$codename" '
    /^URIs:/ { uris = $2 } /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) found = uris }
    /^deb[ \t]/ { for (i = 3; i <= NF; i++) if ($i == suite) { found = $2 } }
    END { print found }' $(ls /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null))
  [[ -n $uri ]] || { log "no configured apt source carries suite $codename; add a deb-src entry for it"; exit 1; }
  log "adding a deb-src entry for $codename from the configured source $uri"
  as_root tee "$src_list" >/dev/null <<SRC
Types: deb-src
URIs: $uri
Suites: $codename
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
if $need_src_entry || ((${#missing[@]})); then
  log "apt-get update"
  as_root apt-get update -q >&2
fi
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2
fi

work=$(mktemp -d "${dest%/bin}/build.XXXXXX" 2>/dev/null || { mkdir -p "${dest%/bin}"; mktemp -d "${dest%/bin}/build.XXXXXX"; })
trap 'rm -rf "$work"' EXIT
cd "$work"
log "fetching Debian's kubernetes source package into $work"
apt-get source -q kubernetes >&2
src=$(find "$work" -maxdepth 1 -type d -name 'kubernetes-*' | head -n1)
version=$(sed -n 's/^kubernetes (\(.*\)really\([0-9.]*\)-.*/\2/p' "$src/debian/changelog" | head -n1)
version=${version:-1.20.2}

# Kubernetes 1.20 builds in GOPATH mode with the Go Debian ships beside it (1.19); a newer Go found
# first on PATH (e.g. /usr/local/go) drops GOPATH-mode details this tree relies on.
export PATH="/usr/lib/go/bin:$PATH"
[[ $(go version) == *go1.19* ]] || { log "expected Debian's Go 1.19 at /usr/lib/go/bin, found: $(go version)"; exit 1; }
export GOPATH="$work/gopath" GOCACHE="$work/gocache" GO111MODULE=off GOFLAGS= CGO_ENABLED=0
mkdir -p "$GOPATH/src/k8s.io"
ln -s "$src" "$GOPATH/src/k8s.io/kubernetes"
cd "$GOPATH/src/k8s.io/kubernetes"

# Go >= 1.18 crashes the vendored reflect2 1.0.1 on the first custom-resource write.
log "replacing vendored modern-go/reflect2 with Debian's 1.0.2"
rm -rf vendor/github.com/modern-go/reflect2
cp -r /usr/share/gocode/src/github.com/modern-go/reflect2 vendor/github.com/modern-go/reflect2

# The tarball lacks the generated OpenAPI definitions of the core API groups, which the apiserver and
# the controller manager embed; generate them the way Makefile.generated_files does (every Go package
# tagged +k8s:openapi-gen, staging named as vendor/).
needs_openapi=false
for c in kube-apiserver kube-controller-manager; do [[ -x $dest/$c ]] || needs_openapi=true; done
if $needs_openapi; then
  log "generating pkg/generated/openapi"
  go build -o "$work/openapi-gen" ./vendor/k8s.io/kube-openapi/cmd/openapi-gen
  mapfile -t openapi_dirs < <(
    find -H . \( -path ./_\* -o -path ./.\* -o -path ./vendor \) -prune -o -type f -name '*.go' -print \
      | sed 's|^\./staging/src|vendor|; s|^\./||' \
      | xargs grep -l '^// *+k8s:openapi-gen=' \
      | xargs -n1 dirname | LC_ALL=C sort -u \
      | grep -v -e '^vendor/k8s.io/code-generator/' -e '^vendor/k8s.io/sample-apiserver/'
  )
  inputs=$(printf 'k8s.io/kubernetes/%s,' "${openapi_dirs[@]}")
  "$work/openapi-gen" --logtostderr \
    -i "${inputs%,}" \
    -p k8s.io/kubernetes/pkg/generated/openapi \
    -O zz_generated.openapi \
    -h vendor/k8s.io/code-generator/hack/boilerplate.go.txt \
    -r "$work/openapi-violations.report" >&2
fi

major=${version%%.*}; minor=${version#*.}; minor=${minor%%.*}
ldflags=""
for pkg in client-go/pkg/version component-base/version; do
  base="k8s.io/kubernetes/vendor/k8s.io/$pkg"
  ldflags+=" -X $base.gitVersion=v$version -X $base.gitMajor=$major -X $base.gitMinor=$minor"
  ldflags+=" -X $base.gitTreeState=clean -X $base.buildDate=1970-01-01T00:00:00Z"
done

mkdir -p "$work/out"
for c in "${components[@]}"; do
  if [[ -x $dest/$c ]]; then continue; fi
  log "building $c v$version (several minutes on 2 cores)"
  go build -p 2 -trimpath -ldflags "-s -w $ldflags" -o "$work/out/$c" "./cmd/$c"
done
cp /usr/bin/etcd "$work/out/etcd"

mkdir -p "$dest"
for b in etcd "${components[@]}"; do
  if [[ -e $work/out/$b ]]; then mv -f "$work/out/$b" "$dest/$b"; fi
done
log "done"
echo "control plane binaries: $dest"
