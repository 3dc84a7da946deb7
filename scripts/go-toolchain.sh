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

# Makes the current directory a throwaway module that requires $2 (module@version) and carries the
# replace directives of its go.mod ($3) that point at published modules: `go install` refuses a
# module with replace directives, and a local path in its repository is not part of the module.
wrapper_module() {
  "$go_bin" mod init "$1" >/dev/null 2>&1
  "$go_bin" mod edit -require="$2"
  local replaces
  mapfile -t replaces < <("$go_bin" mod edit -json "$3" | node -e '
    const m = JSON.parse(require("fs").readFileSync(0, "utf8"));
    for (const r of m.Replace ?? []) {
      if (!r.New.Version) continue;
      const from = r.Old.Path + (r.Old.Version ? "@" + r.Old.Version : "");
      console.log(`-replace=${from}=${r.New.Path}@${r.New.Version}`);
    }')
  ((${#replaces[@]} == 0)) || "$go_bin" mod edit "${replaces[@]}"
}
