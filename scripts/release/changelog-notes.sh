#!/usr/bin/env bash
# Prints the body of VERSION's section of CHANGELOG.md (Keep a Changelog: "## [VERSION] - DATE"),
# without its heading, for the GitHub release's notes. Fails when the changelog has no such section
# or the section is empty, so a release is never cut without notes.
# Usage: changelog-notes.sh VERSION [CHANGELOG]   (VERSION without the leading v: 0.1.0)
set -euo pipefail

version=${1:?usage: changelog-notes.sh VERSION [CHANGELOG]}
changelog=${2:-$(dirname "$0")/../../CHANGELOG.md}
version=${version#v}
[[ -r $changelog ]] || { echo "changelog-notes: cannot read $changelog" >&2; exit 1; }

# A section starts at "## [VERSION]" (followed by the end of the line or " - DATE") and ends at the
# next "## " heading; the link references at the bottom ("[0.1.0]: https://...") are not part of it.
notes=$(awk -v version="$version" '
  /^## / {
    if (found) exit
    heading = $0
    sub(/^## +/, "", heading)
    if (index(heading, "[" version "]") == 1) {
      rest = substr(heading, length(version) + 3)
      if (rest == "" || rest ~ /^ +- /) { found = 1; next }
    }
  }
  found && /^\[[^]]+\]: / { next }
  found {
    lines[++n] = $0
    if ($0 ~ /[^[:space:]]/) { if (!first) first = n; last = n }
  }
  END { for (i = first; first && i <= last; i++) print lines[i] }
' "$changelog")

if [[ -z ${notes//[[:space:]]/} ]]; then
  echo "changelog-notes: $changelog has no section for version $version (expected a heading \"## [$version] - YYYY-MM-DD\")" >&2
  exit 1
fi
printf '%s\n' "$notes"
