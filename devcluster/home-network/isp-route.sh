#!/bin/sh
# The ISP routes each delegated prefix to the customer's router, and only while it is delegated:
# dhcpd installs no routes, so it runs this on commit, release and expiry, and the harness after
# every start. The routes (proto 99, ours alone) are made to match the active prefixes of the leases
# file. dhcpd 4.4 passes no option data on release and expiry, hence the leases file, read a moment
# later, once dhcpd has written it.
#   isp-route.sh DIR EVENT [PREFIX LENGTH]     (EVENT: commit, release, expiry, sync)
dir=$1 event=$2 prefix=${3:--} length=${4:--}
nexthop=$(cat "$dir/router-address")
sync_routes() {
  want=$(awk '/^ *iaprefix /{p=$2} /binding state/{ if (p != "") state[p] = $3 } /^}/{p=""}
    END { for (k in state) if (state[k] == "active;") print k }' "$dir/dhcpd.leases")
  for route in $(ip -6 route show proto 99 | awk '{print $1}'); do
    echo "$want" | grep -qxF "$route" || ip -6 route del "$route" proto 99
  done
  for route in $want; do ip -6 route replace "$route" via "$nexthop" proto 99; done
  echo "$(date +%s%3N) routes: $(echo "$want" | tr "\n" " ")" >>"$dir/isp-route.log"
}
case "$event" in
  sync) sync_routes ;;
  commit)
    # At once, so the delegation is reachable when the router has it; the leases file decides later.
    if [ "$prefix" != - ] && [ "$length" != - ]; then ip -6 route replace "$prefix/$length" via "$nexthop" proto 99; fi
    (sleep 1; sync_routes) >/dev/null 2>&1 &
    ;;
  *) (sleep 1; sync_routes) >/dev/null 2>&1 & ;;
esac
exit 0
