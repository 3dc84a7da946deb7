#!/usr/bin/env bash
# Installs the system programs the tests drive, from the machine's own Debian archive, when missing:
# openssl (the test CA), python3 (unzipping the Lambda artifact), iproute2 (network-namespace tests),
# dnsmasq (the real DNS server the dns: source is tested against), radvd (the router advertising
# prefixes to a namespace's kernel in the renumbering tests), qemu-user (running the arm64
# image), shellcheck (actionlint checks the workflows' run: scripts with it, as on GitHub's runners),
# and kubectl when there is none at all (Debian's kubernetes-client). `npm test` runs it first, so no step before it is needed.
set -euo pipefail

missing=()
command -v openssl >/dev/null || missing+=(openssl)
command -v python3 >/dev/null || missing+=(python3)
command -v ip >/dev/null || missing+=(iproute2)
command -v qemu-aarch64 >/dev/null || missing+=(qemu-user)
[[ -x /usr/sbin/dnsmasq ]] || missing+=(dnsmasq-base)
[[ -x /usr/sbin/radvd ]] || missing+=(radvd)
command -v shellcheck >/dev/null || missing+=(shellcheck)
command -v kubectl >/dev/null || missing+=(kubernetes-client)
((${#missing[@]})) || exit 0

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo -n "$@"; fi; }
echo "[provision] installing ${missing[*]} (apt)" >&2
if ! { as_root apt-get update -q && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q "${missing[@]}"; } >&2; then
  echo "provision-test-tools: could not install ${missing[*]}; install them with apt-get (as root) and run again" >&2
  exit 1
fi
