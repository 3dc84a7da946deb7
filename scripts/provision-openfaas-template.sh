#!/usr/bin/env bash
# Installs what the OpenFaaS node22 template's server runs on, cached, and prints the folder that
# holds its node_modules. The template (openfaas/templates, template/node22) is not published to any
# package registry this project can reach, so its server is not fetched here; its own
# dependencies are: express 5 and body-parser 2, the ranges of the template's package.json
# ("body-parser": "^2.2.0", "express": "^5.1.0" at openfaas/templates 69ca16a). The tests run the
# template's request handling on these real libraries (test/fixtures/openfaas/node22-template.cjs),
# or the template's own index.js when OPENFAAS_NODE22_TEMPLATE names a template/node22 folder
# (`faas-cli template store pull node22`, or what `faas-cli build --shrinkwrap` leaves in template/).
# Usage: provision-openfaas-template.sh
set -euo pipefail

express=${OPENFAAS_NODE22_EXPRESS:-^5.1.0}
body_parser=${OPENFAAS_NODE22_BODY_PARSER:-^2.2.0}
template=${OPENFAAS_NODE22_TEMPLATE:-}
if [[ -n $template ]]; then
  [[ -f $template/index.js && -f $template/package.json ]] ||
    { echo "OPENFAAS_NODE22_TEMPLATE=$template holds no index.js and package.json of the node22 template" >&2; exit 2; }
  # The template's own dependency ranges, not ours.
  express=$(node -p "require('$template/package.json').dependencies.express")
  body_parser=$(node -p "require('$template/package.json').dependencies['body-parser']")
fi
key=$(printf '%s %s' "$express" "$body_parser" | sha256sum | cut -c1-12)
dir=${XDG_CACHE_HOME:-$HOME/.cache}/metallb-dyn6/openfaas-node22-$key
if [[ ! -f $dir/.complete ]]; then
  echo "[provision] the node22 template's server libraries: express@$express body-parser@$body_parser" >&2
  mkdir -p "$dir"
  cat >"$dir/package.json" <<EOF
{ "name": "openfaas-node22-server", "private": true, "dependencies": { "express": "$express", "body-parser": "$body_parser" } }
EOF
  (cd "$dir" && npm install --no-audit --no-fund --omit=dev >&2)
  touch "$dir/.complete"
fi
echo "$dir"
