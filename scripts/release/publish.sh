#!/usr/bin/env bash
# Publishes one release: the multi-arch image index, its signature and signed SBOM attestation, the
# Helm chart pinned to that image by digest (OCI, signed, and optionally a classic chart repository
# index). The release workflow runs exactly this; `npm run release:rehearse` runs it against a
# registry on 127.0.0.1.
#
# Usage:
#   publish.sh --registry HOST[:PORT] --owner OWNER --sign keyless|key:COSIGN_KEY [--plain-http]
#              [--pages-dir DIR --pages-url URL] [--version VERSION] [--out-dir DIR]
#
# Credentials are the tools' own: crane and cosign read ~/.docker/config.json (docker login / crane
# auth login), helm its registry config (helm registry login). A password-protected key takes
# COSIGN_PASSWORD. HELM, COSIGN and CRANE may name binaries to use instead of building them from
# the Go module proxy (scripts/provision-go-tool.sh).
#
# stdout: key=value lines (image, digest, chart, chart_digest, version, sbom, chart_package and, with
# --pages-dir, pages_index), for $GITHUB_OUTPUT; everything else goes to stderr.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
log() { echo "[publish] $*" >&2; }
die() {
  echo "publish: $*" >&2
  exit 1
}
usage() {
  sed -n '/^# Usage:/,/^#$/p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

registry='' owner='' sign='' plain_http=false pages_dir='' pages_url='' version='' out_dir=''
while (($#)); do
  case $1 in
    --registry | --owner | --sign | --pages-dir | --pages-url | --version | --out-dir)
      (($# >= 2)) || die "$1 needs a value"
      case $1 in
        --registry) registry=$2 ;;
        --owner) owner=$2 ;;
        --sign) sign=$2 ;;
        --pages-dir) pages_dir=$2 ;;
        --pages-url) pages_url=$2 ;;
        --version) version=$2 ;;
        --out-dir) out_dir=$2 ;;
      esac
      shift 2
      ;;
    --plain-http)
      plain_http=true
      shift
      ;;
    -h | --help) usage ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
[[ -n $registry && -n $owner && -n $sign ]] || die "--registry, --owner and --sign are required (see --help)"
[[ $registry != */* && $registry != *://* ]] || die "--registry is a host[:port], not a URL or path: $registry"
# GitHub owners may have capitals; OCI repository names may not.
owner=${owner,,}
[[ $owner =~ ^[a-z0-9]+([._-][a-z0-9]+)*$ ]] || die "--owner is not a valid repository path component: $owner"
key=''
case $sign in
  keyless) ;;
  key:?*)
    key=$(realpath "${sign#key:}")
    [[ -r $key ]] || die "cosign key not readable: ${sign#key:}"
    ;;
  *) die "--sign is keyless or key:PATH, not $sign" ;;
esac
if [[ -n $pages_dir || -n $pages_url ]]; then
  [[ -n $pages_dir && -n $pages_url ]] || die "--pages-dir and --pages-url go together"
  mkdir -p "$pages_dir"
  pages_dir=$(realpath "$pages_dir")
fi

# One version in one place: package.json = chart appVersion = image tag = chart version.
read -r package_version app_version < <(cd "$root" && node -e '
  const { parse } = require("yaml");
  const fs = require("fs");
  const chart = parse(fs.readFileSync("deploy/helm/metallb-dyn6/Chart.yaml", "utf8"));
  console.log(require("./package.json").version, String(chart.appVersion));')
[[ $package_version == "$app_version" ]] ||
  die "package.json version $package_version != deploy/helm/metallb-dyn6/Chart.yaml appVersion $app_version"
version=${version:-$package_version}
version=${version#v}
# SemVer 2.0 without build metadata ('+' is not allowed in an OCI tag).
semver='^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$'
[[ $version =~ $semver ]] || die "version is not SemVer (without +build): $version"
# A pre-release of the package's version may be rehearsed or published first; nothing else.
[[ $version == "$package_version" || $version == "$package_version"-* ]] ||
  die "version $version is neither package.json's $package_version nor a pre-release of it"
out_dir=$(realpath -m "${out_dir:-$root/dist/release/$version}")
mkdir -p "$out_dir"

tool() {
  local override=$1 package=$2 tag=$3
  if [[ -n $override ]]; then
    echo "$override"
    return
  fi
  bash "$root/scripts/provision-go-tool.sh" "$package" "$tag" | sed 's/^.*: //; s/ (cached)$//'
}
crane=$(tool "${CRANE:-}" github.com/google/go-containerregistry/cmd/crane v0.22.1)
cosign=$(tool "${COSIGN:-}" github.com/sigstore/cosign/v3/cmd/cosign v3.1.3)
helm=$(tool "${HELM:-}" helm.sh/helm/v4/cmd/helm v4.3.2)

crane_flags=() cosign_flags=() helm_flags=()
if $plain_http; then
  crane_flags=(--insecure)
  cosign_flags=(--allow-insecure-registry)
  helm_flags=(--plain-http)
fi
if [[ -n $key ]]; then
  # No transparency log for a local key (cosign v3 refuses --tlog-upload=false without
  # --use-signing-config=false). A key without a password is read with an empty one.
  export COSIGN_PASSWORD=${COSIGN_PASSWORD-}
  sign_flags=(--key "$key" --use-signing-config=false --tlog-upload=false)
else
  sign_flags=()
fi
cosign_sign() { "$cosign" sign --yes "${sign_flags[@]}" "${cosign_flags[@]}" "$1" >&2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
image_repo=$registry/$owner/metallb-dyn6
chart_repo=$registry/$owner/charts

log "building the image index ($version)"
METALLB_DYN6_IMAGE_VERSION=$version bash "$root/scripts/build-image.sh" "$work/image" >&2
digest=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).manifests[0].digest)' \
  "$work/image/index.json")
[[ $digest =~ ^sha256:[0-9a-f]{64}$ ]] || die "no index digest in the built layout: $digest"

# A published version is immutable: the same bytes may be pushed again (a re-run), others may not.
if existing=$("$crane" digest "${crane_flags[@]}" "$image_repo:$version" 2>/dev/null); then
  [[ $existing == "$digest" ]] ||
    die "$image_repo:$version already names $existing, not this build's $digest: publish a new version"
fi
log "pushing $image_repo:$version"
CRANE=$crane bash "$root/scripts/push-image.sh" "$work/image" "$image_repo:$version" "${crane_flags[@]}" >/dev/null
pushed=$("$crane" digest "${crane_flags[@]}" "$image_repo:$version")
[[ $pushed == "$digest" ]] || die "the registry's $image_repo:$version is $pushed, not the pushed $digest"
image=$image_repo@$digest

log "signing $image (${sign%%:*})"
cosign_sign "$image"

log "SBOM of the bundled npm packages"
sbom=$out_dir/metallb-dyn6-$version.cdx.json
(cd "$root" && npx tsx scripts/release/sbom.ts "$sbom" --version "$version")
"$cosign" attest --yes "${sign_flags[@]}" "${cosign_flags[@]}" --type cyclonedx --predicate "$sbom" "$image" >&2

log "packaging the chart for $image"
cp -r "$root/deploy/helm/metallb-dyn6" "$work/chart"
(cd "$root" && npx tsx scripts/release/set-values.ts "$work/chart/values.yaml" \
  "image.registry=$registry" "image.repository=$owner/metallb-dyn6" "image.digest=$digest")
"$helm" package "$work/chart" --version "$version" --app-version "$version" --destination "$out_dir" >&2
package=$out_dir/metallb-dyn6-$version.tgz
[[ -f $package ]] || die "helm package wrote no $package"

log "pushing the chart to oci://$chart_repo"
"$helm" push "$package" "oci://$chart_repo" "${helm_flags[@]}" >"$work/helm-push.log" 2>&1 ||
  die "helm push failed: $(cat "$work/helm-push.log")"
cat "$work/helm-push.log" >&2
chart_digest=$("$crane" digest "${crane_flags[@]}" "$chart_repo/metallb-dyn6:$version")
cosign_sign "$chart_repo/metallb-dyn6@$chart_digest"

if [[ -n $pages_dir ]]; then
  log "chart repository index in $pages_dir for $pages_url"
  cp "$package" "$pages_dir/"
  merge=()
  [[ ! -f $pages_dir/index.yaml ]] || merge=(--merge "$pages_dir/index.yaml")
  "$helm" repo index "$pages_dir" --url "$pages_url" "${merge[@]}" >&2
fi

echo "version=$version"
echo "image=$image"
echo "digest=$digest"
echo "chart=oci://$chart_repo/metallb-dyn6"
echo "chart_digest=$chart_digest"
echo "chart_package=$package"
echo "sbom=$sbom"
[[ -z $pages_dir ]] || echo "pages_index=$pages_dir/index.yaml"
