#!/usr/bin/env bash
# Builds the Go programs the image, Helm and release tests drive, from the Go module proxy, once each,
# cached by version (scripts/provision-go-tool.sh): crane (image build and registry), helm 3 and 4,
# cosign. On a fresh machine this is ~15 minutes on 2 cores, so CI runs it before the tests instead of
# leaving it to the first test that needs a tool (whose beforeAll would spend its timeout building).
# The versions are the ones the tests and scripts/release ask for; keep them in step.
#
# Usage: provision-release-tools.sh   (prints "NAME VERSION: PATH" per tool)
set -euo pipefail

here=$(dirname "$0")
tools=(
  "github.com/google/go-containerregistry/cmd/crane v0.22.1"
  "helm.sh/helm/v3/cmd/helm v3.21.4"
  "helm.sh/helm/v4/cmd/helm v4.3.2"
  "github.com/sigstore/cosign/v3/cmd/cosign v3.1.3"
)
for tool in "${tools[@]}"; do
  read -r package version <<<"$tool"
  bash "$here/provision-go-tool.sh" "$package" "$version"
done
