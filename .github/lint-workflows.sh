#!/usr/bin/env bash
# Lints the GitHub Actions workflows with actionlint (built from the Go module proxy, cached by
# version, like every other tool here); .ci/run and the CI workflow's lint job both run it, so a
# workflow that actionlint refuses fails both. actionlint also runs shellcheck on each `run:` block
# when shellcheck is installed.
# Usage: .github/lint-workflows.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
actionlint=$(bash "$root/scripts/provision-go-tool.sh" github.com/rhysd/actionlint/cmd/actionlint v1.7.12 |
  sed 's/^.*: //; s/ (cached)$//')
cd "$root"
"$actionlint" -version | head -n1
"$actionlint"
echo "actionlint: .github/workflows is clean"
