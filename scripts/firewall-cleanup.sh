# Sourced by the scripts that start berth daemons: what a daemon that was killed, or stopped
# with containers running, leaves in the host's firewall. Its nftables table (ip and ip6)
# and its iptables/ip6tables FORWARD or DOCKER-USER accept rules, which carry the comment
# `berth:<table>` (berth-net's iptables.rs); the table's name comes from the data root as
# berth-net's firewall::table_name computes it. Only that daemon's rules are touched.
remove_daemon_firewall() { # DATA_ROOT
    local t
    t="berth_$(printf %s "$1" | sha256sum | cut -c1-10)"
    nft delete table ip "$t" 2>/dev/null
    nft delete table ip6 "$t" 2>/dev/null
    local f
    for f in iptables ip6tables; do
        command -v "$f-save" >/dev/null 2>&1 || continue
        "$f-save" -t filter 2>/dev/null | grep -qF "\"berth:$t\"" || continue
        { echo '*filter'
          "$f-save" -t filter | grep '^-A ' | grep -F "\"berth:$t\"" | sed 's/^-A /-D /'
          echo COMMIT; } | "$f-restore" -w --noflush 2>/dev/null
    done
    return 0
}
