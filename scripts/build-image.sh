#!/usr/bin/env bash
# Builds the released image (commands sync, run and serve) without a Docker daemon, as an OCI image
# layout holding one image index with a linux/amd64 and a linux/arm64 image. Each image has the same three layers as
# the Dockerfile's result: a distroless-like base (glibc, libstdc++ and libgcc from the machine's own
# Debian archive, for the image's architecture; /etc/passwd with nonroot 65532; /tmp), the official
# Node.js 22 binary (npm package node-linux-<arch>) at /nodejs/bin/node, and the bundled CLI at
# /app (cli.mjs, the command, and main.mjs, the program) with Node's compile cache of both in
# /app/compile-cache: every container start reads the program's compiled code instead of compiling
# it. The cache is written by the image's own Node, for its architecture (under qemu's user-mode
# emulation for the other one), as user 65532 (the cache is per user), chrooted into the image's
# files, running a sync that fails at its first API request; --predictable and a fixed
# --random-seed (the two V8 flags its code cache ignores) make it the same bytes every build.
# crane (go-containerregistry, from the Go module proxy) assembles the images in a registry it
# serves in memory on 127.0.0.1, then writes the index out as an OCI layout.
#
# Usage: build-image.sh [OUT_DIR] [ARCH...]   (default: dist/image, amd64 arm64)
# Push it with: scripts/push-image.sh OUT_DIR registry.example/metallb-dyn6:TAG
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${1:-$root/dist/image}")
shift || true
arches=("$@")
((${#arches[@]})) || arches=(amd64 arm64)
node_major=22
cache=${XDG_CACHE_HOME:-$HOME/.cache}/metallb-dyn6/image

crane=$(bash "$root/scripts/provision-go-tool.sh" github.com/google/go-containerregistry/cmd/crane v0.22.1 | sed 's/^.*: //; s/ (cached)$//')
work=$(mktemp -d)
registry_pid=
cleanup() {
  [[ -z $registry_pid ]] || kill "$registry_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

log() { echo "[image] $*" >&2; }

# A layer tarball whose bytes depend only on the files: same input, same digest.
layer() { tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$1" -c . | gzip -n >"$2"; }

# The shared libraries the official Node.js binary links against, for ARCH, from the Debian archive
# this machine is configured with, with apt's state kept apart from the system's (no dpkg
# --add-architecture needed).
base_debs() {
  local arch=$1 dir=$cache/debs-$1
  if ! compgen -G "$dir/*.deb" >/dev/null; then
    mkdir -p "$dir/lists/partial" "$dir/archives/partial"
    : >"$dir/status"
    local apt=(-q -o "APT::Architecture=$arch" -o "APT::Architectures::=$arch" -o "Dir::State::Lists=$dir/lists"
      -o "Dir::Cache=$dir" -o "Dir::State::status=$dir/status" -o APT::Sandbox::User=root)
    log "Debian libc6, libstdc++6, libgcc-s1 for $arch (first time only)"
    apt-get "${apt[@]}" update >&2
    (cd "$dir" && apt-get "${apt[@]}" download libc6 libstdc++6 libgcc-s1 >&2)
  fi
  echo "$dir"
}

# The official Node.js binary for ARCH, from its npm package (npm pack: installing it would refuse a
# package for another CPU).
node_binary() {
  local arch=$1 dir=$cache/node-$node_major-$1 cpu
  cpu=$([[ $arch == amd64 ]] && echo x64 || echo "$arch")
  if [[ ! -x $dir/package/bin/node ]]; then
    log "Node.js $node_major for $arch from the npm registry (node-linux-$cpu@$node_major, first time only)"
    mkdir -p "$dir"
    tarball=$(cd "$dir" && npm pack --silent "node-linux-$cpu@$node_major")
    tar -xzf "$dir/$tarball" -C "$dir" && rm "$dir/$tarball"
  fi
  echo "$dir/package"
}

# How to run a program of ARCH chrooted into ROOT: directly on a machine of that architecture, else
# through qemu's user-mode emulator, copied with the host libraries it links against into
# ROOT/.emulator so that the program sees only the image's files.
emulator_for() {
  local arch=$1 root=$2 host qemu lib
  host=$(dpkg --print-architecture)
  [[ $arch == "$host" ]] && return
  qemu=$(command -v "qemu-$([[ $arch == arm64 ]] && echo aarch64 || echo x86_64)") ||
    { echo "build-image: building for $arch on $host needs qemu's user-mode emulator (Debian: apt-get install qemu-user)" >&2; exit 1; }
  mkdir -p "$root/.emulator"
  cp "$qemu" "$root/.emulator/"
  for lib in $(ldd "$qemu" | grep -o '/[^ ]*'); do cp "$lib" "$root/.emulator/"; done
  lib=$(basename "$(ldd "$qemu" | grep -o '/[^ ]*ld-linux[^ ]*')")
  echo "/.emulator/$lib --library-path /.emulator /.emulator/$(basename "$qemu")"
}

# Writes APP/app/compile-cache: Node's compile cache of /app/cli.mjs and /app/main.mjs, by the image's
# Node, as the image's user, in a scratch copy of the image's files with an in-cluster identity whose
# API server refuses the connection (port 9 on loopback).
compile_cache() {
  local arch=$1 base=$2 node=$3 app=$4 scratch=$work/$1/scratch sa
  mkdir -p "$scratch"
  cp -a "$base/." "$node/." "$app/." "$scratch/"
  sa=$scratch/var/run/secrets/kubernetes.io/serviceaccount
  mkdir -p "$sa" "$scratch/app/compile-cache"
  printf 'build-time' >"$sa/token" && printf 'metallb-system' >"$sa/namespace" && : >"$sa/ca.crt"
  chown 65532:65532 "$scratch/app/compile-cache"
  # shellcheck disable=SC2046 # the emulator's command line, split on purpose
  env -i NODE_COMPILE_CACHE=/app/compile-cache KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=9 \
    METALLB_DYN6_HOST_RANGE=::1000-::1999 METALLB_DYN6_METALLB_POOL=compile-cache \
    METALLB_DYN6_SOURCE=static:2a02:8071:1234:5678::9 METALLB_DYN6_LOG_LEVEL=error \
    "$(command -v chroot)" --userspec=65532:65532 "$scratch" $(emulator_for "$arch" "$scratch") \
    /nodejs/bin/node --predictable --random-seed=1 /app/cli.mjs sync >"$work/$arch/compile-cache.log" 2>&1 || true
  compgen -G "$scratch/app/compile-cache/*/*" >/dev/null ||
    { echo "build-image: Node wrote no compile cache for $arch:" >&2; cat "$work/$arch/compile-cache.log" >&2; exit 1; }
  cp -r "$scratch/app/compile-cache" "$app/app/"
  # The layers' files belong to root; the cache, as the program, is read by user 65532.
  chmod -R a+rX "$app/app/compile-cache"
  rm -rf "$scratch"
}

log "bundling the CLI"
(cd "$root" && npx tsx scripts/bundle.ts cli >&2)

"$crane" registry serve --address 127.0.0.1:0 >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 50); do
  port=$(sed -n 's/.*serving on port \([0-9]*\).*/\1/p' "$work/registry.log" | head -n1)
  [[ -n $port ]] && break
  sleep 0.1
done
[[ -n ${port:-} ]] || { cat "$work/registry.log" >&2; echo "build-image: crane's registry did not start" >&2; exit 1; }
repo=127.0.0.1:$port/metallb-dyn6
# The version the image is labelled with: package.json's, unless the release publishes a pre-release
# of it (scripts/release/publish.sh --version 0.1.0-rc.0), which must not claim to be 0.1.0.
version=${METALLB_DYN6_IMAGE_VERSION:-$(node -p "require('$root/package.json').version")}

manifests=()
for arch in "${arches[@]}"; do
  log "linux/$arch"
  base=$work/$arch/base node=$work/$arch/node app=$work/$arch/app
  mkdir -p "$base/etc" "$base/tmp" "$base/home/nonroot" "$node/nodejs/bin" "$app/app"
  for deb in "$(base_debs "$arch")"/*.deb; do dpkg-deb -x "$deb" "$base"; done
  # Only what a program needs at run time; the licences stay.
  find "$base/usr/share" -mindepth 1 -maxdepth 1 ! -name doc -exec rm -rf {} +
  find "$base/usr/share/doc" -type f ! -name copyright -delete
  rm -rf "${base:?}/usr/lib/"*/gconv "${base:?}/usr/bin" "${base:?}/usr/sbin" "${base:?}/sbin" "${base:?}/etc/ld.so.conf.d" 2>/dev/null || true
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$base/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' >"$base/etc/group"
  chmod 1777 "$base/tmp"
  runtime=$(node_binary "$arch")
  cp "$runtime/bin/node" "$node/nodejs/bin/node"
  cp "$runtime/LICENSE" "$node/nodejs/LICENSE" 2>/dev/null || true
  cp "$root/dist/bundle/cli.mjs" "$root/dist/bundle/main.mjs" "$app/app/"
  compile_cache "$arch" "$base" "$node" "$app"
  for part in base node app; do layer "$work/$arch/$part" "$work/$arch/$part.tar.gz"; done

  "$crane" append --oci-empty-base -f "$work/$arch/base.tar.gz" -f "$work/$arch/node.tar.gz" \
    -f "$work/$arch/app.tar.gz" -t "$repo:$arch-layers" >&2
  "$crane" mutate "$repo:$arch-layers" --set-platform "linux/$arch" \
    --entrypoint /nodejs/bin/node,/app/cli.mjs --cmd sync --user 65532:65532 --workdir / \
    -e NODE_ENV=production -e NODE_COMPILE_CACHE=/app/compile-cache -e PATH=/nodejs/bin:/usr/bin:/bin \
    -l org.opencontainers.image.title=metallb-dyn6 -l "org.opencontainers.image.version=$version" \
    -t "$repo:$arch" >&2
  manifests+=(-m "$repo:$arch")
done

"$crane" index append --tag "$repo:$version" "${manifests[@]}" >&2
rm -rf "$out"
"$crane" pull --format oci "$repo:$version" "$out" >&2
echo "image: $out"
