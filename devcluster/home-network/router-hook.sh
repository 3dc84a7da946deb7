#!/bin/sh
# The home router's DHCPv6 prefix-delegation hook (dhclient -6 -P -sf), as a router distribution
# would ship it: the first /64 of the delegated prefix goes on the LAN, radvd announces it, and a
# lost prefix is announced with preferred lifetime 0 (RFC 7084 L-13) unless DEPRECATE=0. In push
# mode (PUSH_URL set) the new prefix is POSTed to metallb-dyn6's authenticated endpoint, the README's
# one-liner. dhclient passes the settings with -e:
#   DIR   state, radvd.conf and radvd.pid; LAN, WAN, ISP_GW, ULA (the LAN's fixed /64)
#   DEPRECATE (1|0), PUSH_URL, PUSH_TOKEN_FILE
# Every call is logged to $DIR/hook.log as "<epoch ms> <event> <prefix>" for the tests to read.
# shellcheck disable=SC2154 # dhclient sets reason, new_ip6_prefix and the rest
state=$DIR/state
mkdir -p "$state"
now_ms() { date +%s%3N; }
log() { echo "$(now_ms) $*" >>"$DIR/hook.log"; }
log "$reason ${new_ip6_prefix:-${old_ip6_prefix:--}}"

# A delegated prefix's network address always ends in "::": its first /64 is the same text.
first64() { echo "${1%/*}/64"; }

write_radvd() {
  current=$1
  valid=60 preferred=30
  {
    echo "interface $LAN {"
    echo "  AdvSendAdvert on; MinRtrAdvInterval 3; MaxRtrAdvInterval 10; AdvDefaultLifetime 30;"
    echo "  prefix $ULA { AdvOnLink on; AdvAutonomous on; AdvValidLifetime 3600; AdvPreferredLifetime 1800; };"
    if [ -n "$current" ]; then
      echo "  prefix $(first64 "$current") { AdvOnLink on; AdvAutonomous on; AdvValidLifetime $valid; AdvPreferredLifetime $preferred; };"
    fi
    # Hosts keep a deprecated address until its remaining valid lifetime (at most $valid s) runs out
    # (RFC 4862 5.5.3e), so the deprecation is announced that long. radvd's DecrementLifetimes would
    # stop announcing a prefix whose preferred lifetime is 0, so it is not used.
    if [ -s "$state/deprecated" ]; then
      now=$(date +%s)
      while read -r old since; do
        [ -n "$current" ] && [ "$old" = "$(first64 "$current")" ] && continue
        [ $((now - since)) -ge $valid ] && continue
        echo "  prefix $old { AdvOnLink on; AdvAutonomous on; AdvValidLifetime 0; AdvPreferredLifetime 0; DeprecatePrefix off; };"
      done <"$state/deprecated"
    fi
    echo "};"
  } >"$DIR/radvd.conf.new" && mv "$DIR/radvd.conf.new" "$DIR/radvd.conf"
  if [ -s "$DIR/radvd.pid" ]; then kill -HUP "$(cat "$DIR/radvd.pid")" 2>/dev/null; fi
}

push() {
  [ -n "$PUSH_URL" ] || return 0
  # In the background, as a router's hotplug script would: dhclient waits for the hook.
  (
    code=$(curl -sS -o "$DIR/push-answer.json" -w '%{http_code}' --retry 5 --retry-connrefused --retry-delay 1 \
      -H "Authorization: Bearer $(cat "$PUSH_TOKEN_FILE")" -H 'Content-Type: application/json' \
      -d "{\"prefix\":\"$1\"}" "$PUSH_URL" 2>>"$DIR/push.log")
    log "pushed $1 $code"
  ) &
}

add_prefix() {
  net=${1%/*}
  ip -6 addr replace "${net}1/64" dev "$LAN" nodad valid_lft "${new_max_life:-forever}" preferred_lft "${new_preferred_life:-forever}"
  # The rest of the delegation is ours: never send it back upstream.
  ip -6 route replace unreachable "$1" metric 2000
  ip -6 route replace default via "$ISP_GW" dev "$WAN" metric 1024
  if [ -f "$state/deprecated" ]; then
    grep -v "^$(first64 "$1") " "$state/deprecated" >"$state/deprecated.new"
    mv "$state/deprecated.new" "$state/deprecated"
  fi
  echo "$1" >"$state/current"
  write_radvd "$1"
  log "applied $1"
  push "$1"
}

remove_prefix() {
  net=${1%/*}
  ip -6 addr del "${net}1/64" dev "$LAN" 2>/dev/null
  ip -6 route del unreachable "$1" 2>/dev/null
  if [ "${DEPRECATE:-1}" = 1 ] && ! grep -q "^$(first64 "$1") " "$state/deprecated" 2>/dev/null; then
    echo "$(first64 "$1") $(date +%s)" >>"$state/deprecated"
  fi
  current=$(cat "$state/current" 2>/dev/null)
  if [ "$current" = "$1" ]; then
    rm -f "$state/current"
    current=
  fi
  write_radvd "$current"
  log "removed $1"
}

case "$reason" in
  BOUND6 | REBOOT6 | RENEW6 | REBIND6)
    if [ -n "$old_ip6_prefix" ] && [ "$old_ip6_prefix" != "$new_ip6_prefix" ]; then remove_prefix "$old_ip6_prefix"; fi
    if [ -n "$new_ip6_prefix" ]; then
      current=$(cat "$state/current" 2>/dev/null)
      if [ "$current" = "$new_ip6_prefix" ]; then
        ip -6 addr replace "${new_ip6_prefix%/*}1/64" dev "$LAN" nodad \
          valid_lft "${new_max_life:-forever}" preferred_lft "${new_preferred_life:-forever}"
      else
        if [ -n "$current" ]; then remove_prefix "$current"; fi
        add_prefix "$new_ip6_prefix"
      fi
    fi
    ;;
  EXPIRE6 | RELEASE6 | STOP6)
    lost=${old_ip6_prefix:-$(cat "$state/current" 2>/dev/null)}
    if [ -n "$lost" ]; then remove_prefix "$lost"; fi
    ;;
  START) write_radvd "" ;;
esac
exit 0
