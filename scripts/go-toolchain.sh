# Sourced by the provisioning scripts that build from the Go module proxy: sets go_bin to a Go of at
# least version $1 (/usr/local/go first, then PATH, where Debian's older Go may come first), or exits
# 3 with one line saying what to install.
go_wanted=${1:-1.22}
go_bin=
for candidate in /usr/local/go/bin/go "$(command -v go || true)"; do
  [[ -x $candidate ]] || continue
  have=$("$candidate" env GOVERSION 2>/dev/null | sed 's/^go//')
  if [[ -n $have && $(printf '%s\n%s\n' "$go_wanted" "$have" | sort -V | head -n1) == "$go_wanted" ]]; then
    go_bin=$candidate
    break
  fi
done
if [[ -z $go_bin ]]; then
  echo "$(basename "$0"): no Go >= $go_wanted: install it (the scripts look in /usr/local/go/bin, then PATH)" >&2
  exit 3
fi
