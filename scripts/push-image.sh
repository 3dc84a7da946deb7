#!/usr/bin/env bash
# Pushes the image index scripts/build-image.sh wrote (an OCI layout) to REF as it is, same digest,
# and prints that digest. The layout's index.json only points at the image index; `crane push --index`
# of the layout itself would push that pointer as one more index around ours, and the tag would name
# an index of an index, which not every runtime resolves. A layout whose index.json is our index's
# own bytes pushes it unchanged.
# Usage: push-image.sh LAYOUT REF [crane flags, e.g. --insecure]
set -euo pipefail

layout=${1:?usage: push-image.sh LAYOUT REF [crane flags]}
ref=${2:?usage: push-image.sh LAYOUT REF [crane flags]}
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
crane=${CRANE:-$(bash "$root/scripts/provision-go-tool.sh" github.com/google/go-containerregistry/cmd/crane v0.22.1 | sed 's/^.*: //; s/ (cached)$//')}

digest=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).manifests[0].digest)' \
  "$layout/index.json")
[[ $digest =~ ^sha256:[0-9a-f]{64}$ ]] || { echo "push-image: no index digest in $layout: $digest" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -al "$layout/blobs" "$work/blobs" 2>/dev/null || cp -r "$layout/blobs" "$work/blobs"
cp "$layout/oci-layout" "$work/oci-layout"
cp "$layout/blobs/sha256/${digest#sha256:}" "$work/index.json"
"$crane" push --index "$@" "$work" "$ref" >&2
echo "$digest"
