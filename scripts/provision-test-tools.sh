#!/usr/bin/env bash
# Installs the system programs the tests drive, from the machine's own Debian archive, when missing:
# openssl (the test CA), python3 (unzipping the Lambda artifact), iproute2 (network-namespace tests),
# dnsmasq (the real DNS server the dns: source is tested against), radvd (the router advertising
# prefixes to a namespace's kernel in the renumbering tests), qemu-user (running the arm64
# image), shellcheck (actionlint checks the workflows' run: scripts with it, as on GitHub's runners),
# kubectl when there is none at all (Debian's kubernetes-client), and what the home-network tests
# (test/network/) build an ISP, a home router and a node from: isc-dhcp-server (dhcpd -6, the ISP's
# prefix delegation), isc-dhcp-client (dhclient -6 -P, the router asking for a prefix), socat, curl,
# nftables (nft) and iptables (ip6tables, which kube-proxy programs). `npm test` runs it first, so no
# step before it is needed.
#
# Packages that ship a service (isc-dhcp-server, radvd) would start it on install; a policy-rc.d
# that refuses every start is put in place for the install when the machine has none, then removed.
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
[[ -x /usr/sbin/dhcpd ]] || missing+=(isc-dhcp-server)
[[ -x /usr/sbin/dhclient ]] || missing+=(isc-dhcp-client)
[[ -x /usr/bin/socat ]] || missing+=(socat)
[[ -x /usr/sbin/nft ]] || missing+=(nftables)
[[ -x /usr/sbin/ip6tables ]] || missing+=(iptables)
[[ -x /usr/bin/curl ]] || missing+=(curl)
((${#missing[@]})) || exit 0

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo -n "$@"; fi; }
echo "[provision] installing ${missing[*]} (apt)" >&2
# No service starts during the install (there may be no init system, as in a container, and a DHCP
# server started on the machine's own network is not wanted): invoke-rc.d and deb-systemd-invoke ask
# /usr/sbin/policy-rc.d, and 101 means "not allowed". One already there (Docker's images ship one) is
# left as it is.
policy=/usr/sbin/policy-rc.d
# Not fatal: without root the install below fails too, and says what to do.
if [[ ! -e $policy ]] &&
  printf '#!/bin/sh\n# provision-test-tools.sh: no service starts during its install\nexit 101\n' |
  as_root tee "$policy" >/dev/null && as_root chmod 755 "$policy"; then
  trap 'as_root rm -f "$policy"' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
fi
if ! { as_root apt-get update -q && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q "${missing[@]}"; } >&2; then
  echo "provision-test-tools: could not install ${missing[*]}; install them with apt-get (as root) and run again" >&2
  exit 1
fi
