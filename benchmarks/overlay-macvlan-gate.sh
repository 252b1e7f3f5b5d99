#!/usr/bin/env bash
# Overlay data path gate (issue 7): the task-to-task VXLAN path rebuilt by hand with ip(8) in
# throwaway namespaces (prefix ovm-), two shapes side by side on the same two "node" namespaces
# (a veth each into an underlay bridge, an nft table of the ingress table's shape so conntrack runs
# there, as on a node):
#   (a) as the node builds a non-ingress overlay now: a namespace of its own per overlay and node
#       (bridge-nf-call-iptables 0 there) with a bridge, the vxlan device (made in the node's
#       namespace so its UDP socket stays there, then moved in) and a veth per task;
#   (c) no bridge and no veth: in the overlay's namespace, the task's interface is a macvlan (mode
#       bridge) on the vxlan device, made there and moved into the task's namespace.
# Both with nolearning + proxy, static fdb (MAC -> remote node) and neighbour entries, MTU 1450.
# Before measuring, (c) is checked: a task pings the remote task (its ARP answered by the vxlan
# proxy), a second task on the same node and network, and that one the remote task.
# iperf3 (TCP, one stream, SECS s, the first second omitted) from node 1's task to node 2's in each
# shape and between the two node namespaces over the plain underlay; the order rotates each round.
# Only namespaces made here are touched; all are deleted at the end.
#   [ROUNDS=8] [SECS=5] [PIN=C,S] bash benchmarks/overlay-macvlan-gate.sh
# PIN=C,S: every iperf3 client runs with -A C,S. Needs root, iperf3 and busybox (its ping).
set -euo pipefail
P=ovm   # prefix of every namespace made here
secs=${SECS:-5}
rounds=${ROUNDS:-8}
pin=(); [ -z "${PIN:-}" ] || pin=(-A "$PIN")
work=$(mktemp -d)
NS=(ul n1 n2 oa1 oa2 oc1 oc2 a1 a2 c1 c2 c3)
E() { ip netns exec $P-"$1" "${@:2}"; }
I() { ip -n $P-"$1" "${@:2}"; }
setup() {
  for n in "${NS[@]}"; do ip netns add $P-$n; done
  I ul link add ulbr type bridge; I ul link set ulbr up; I ul link set lo up
  for i in 1 2; do
    other=$((3 - i))
    ip link add $P-u$i netns $P-ul type veth peer name eth0 netns $P-n$i
    I ul link set $P-u$i master ulbr up
    I n$i addr add 10.99.0.$i/24 dev eth0; I n$i link set eth0 up; I n$i link set lo up
    E n$i nft -f - <<NFT
table ip ovm {
  chain prerouting { type nat hook prerouting priority -100; policy accept; fib daddr type local tcp dport 5999 dnat ip to 10.98.0.9:80; }
  chain output { type nat hook output priority -100; policy accept; fib daddr type local ip daddr != 127.0.0.0/8 tcp dport 5999 dnat ip to 10.98.0.9:80; }
  chain forward { type filter hook forward priority 0; policy accept; ct status dnat accept; }
}
NFT
    E n$i sysctl -qw net.ipv4.ip_forward=1
    for s in a c; do
      E o$s$i sysctl -qw net.bridge.bridge-nf-call-iptables=0 net.bridge.bridge-nf-call-ip6tables=0
      I o$s$i link set lo up
    done
    # (a): vxlan made in the node namespace, moved into the overlay's namespace beside a bridge; a veth per task
    I n$i link add vxa type vxlan id 4001 local 10.99.0.$i dstport 4789 nolearning proxy
    I n$i link set vxa netns $P-oa$i
    I oa$i link add bra type bridge
    I oa$i link set vxa mtu 1450 master bra up
    I oa$i link set bra mtu 1450 up
    I oa$i link add vta$i mtu 1450 type veth peer name eth1 netns $P-a$i
    I oa$i link set vta$i master bra up
    I a$i link set lo up; I a$i link set eth1 mtu 1450 address 02:42:c9:00:00:0$i up; I a$i addr add 10.201.0.$i/24 dev eth1
    I oa$i neigh replace 10.201.0.$other lladdr 02:42:c9:00:00:0$other dev vxa nud permanent
    bridge -n $P-oa$i fdb append 02:42:c9:00:00:0$other dev vxa dst 10.99.0.$other self permanent
    # (c): the same vxlan device, then a macvlan (mode bridge) on it per task, moved into the task's namespace
    I n$i link add vxc type vxlan id 4003 local 10.99.0.$i dstport 4789 nolearning proxy
    I n$i link set vxc netns $P-oc$i
    I oc$i link set vxc mtu 1450 up
    I oc$i neigh replace 10.203.0.$other lladdr 02:42:cb:00:00:0$other dev vxc nud permanent
    bridge -n $P-oc$i fdb append 02:42:cb:00:00:0$other dev vxc dst 10.99.0.$other self permanent
  done
  for t in 1 2 3; do
    node=$(( t == 2 ? 2 : 1 ))
    I oc$node link add mvc$t link vxc mtu 1450 address 02:42:cb:00:00:0$t type macvlan mode bridge
    I oc$node link set mvc$t netns $P-c$t name eth1
    I c$t link set lo up; I c$t link set eth1 up; I c$t addr add 10.203.0.$t/24 dev eth1
  done
  # the second task on node 1 (10.203.0.3) seen from node 2 like any remote task
  I oc2 neigh replace 10.203.0.3 lladdr 02:42:cb:00:00:03 dev vxc nud permanent
  bridge -n $P-oc2 fdb append 02:42:cb:00:00:03 dev vxc dst 10.99.0.1 self permanent
  E n2 iperf3 -s -D -p 5301 --pidfile $work/u.pid
  E a2 iperf3 -s -D -p 5201 --pidfile $work/a.pid
  E c2 iperf3 -s -D -p 5201 --pidfile $work/c.pid
  sleep 1
}
teardown() {
  for f in u a c; do [ -f $work/$f.pid ] && kill "$(cat $work/$f.pid)" 2>/dev/null || true; rm -f $work/$f.pid; done
  for n in "${NS[@]}"; do ip netns del $P-$n 2>/dev/null || true; done
  [ "${1:-}" = final ] && rm -rf "$work"; true
}
check() {
  local ok=1
  ping1() { if E "$1" busybox ping -c 2 -W 2 -q "$2" >/dev/null 2>&1; then echo "  ping $1 -> $2: ok"; else echo "  ping $1 -> $2: FAILED"; ok=0; fi; }
  echo "checks of (c), macvlan on vxlan:"
  ping1 c1 10.203.0.2   # remote task, ARP answered by node 1's vxlan proxy
  ping1 c1 10.203.0.3   # the other task on node 1, through macvlan's bridge mode
  ping1 c3 10.203.0.2   # the second local task to the remote one
  ping1 c2 10.203.0.3   # the remote task to the second local one
  ping1 a1 10.201.0.2   # (a), for comparison
  echo "  c1's neighbours: $(I c1 neigh show dev eth1 | tr '\n' ';')"
  echo "  c1 eth1: $(I c1 -d link show eth1 | grep -oE ' mtu [0-9]+ |macvlan mode [a-z]+|link/ether [0-9a-f:]+' | tr '\n' ' ')"
  echo "  full-size packet (1422 bytes of ICMP payload, 1450 with headers) c1 -> c2: $(E c1 busybox ping -c 1 -W 2 -s 1422 -q 10.203.0.2 >/dev/null 2>&1 && echo ok || echo FAILED)"
  [ $ok = 1 ] || { echo "a check failed; not measuring" >&2; exit 1; }
}
mbits() { awk '/receiver/ { for (i = 1; i <= NF; i++) if ($i == "Mbits/sec") print $(i-1) }' | tail -1; }
measure() { E "$1" iperf3 -c "$2" -p "$3" "${pin[@]}" -f m -t "$secs" -O 1 2>&1 | mbits; }
trap "teardown final" EXIT
teardown
setup
check
echo "iperf3, TCP, ${secs} s, ${rounds} rounds${PIN:+, pinned -A $PIN}"
echo "round underlay a_bridge c_macvlan a/u c/u c/a load"
for r in $(seq 1 "$rounds"); do
  l=$(cut -d' ' -f1 /proc/loadavg)
  case $((r % 3)) in
    1) u=$(measure n1 10.99.0.2 5301); a=$(measure a1 10.201.0.2 5201); c=$(measure c1 10.203.0.2 5201) ;;
    2) c=$(measure c1 10.203.0.2 5201); u=$(measure n1 10.99.0.2 5301); a=$(measure a1 10.201.0.2 5201) ;;
    0) a=$(measure a1 10.201.0.2 5201); c=$(measure c1 10.203.0.2 5201); u=$(measure n1 10.99.0.2 5301) ;;
  esac
  awk -v r=$r -v u=$u -v a=$a -v c=$c -v l="$l" 'BEGIN{printf "%d %d %d %d %.3f %.3f %.3f %s\n", r,u,a,c,a/u,c/u,c/a,l}'
done | tee $work/rounds
med() { sort -g | awk '{ a[NR] = $1 } END { printf "%.3f", NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
echo "median a/u $(awk '{print $5}' $work/rounds | med), c/u $(awk '{print $6}' $work/rounds | med), c/a $(awk '{print $7}' $work/rounds | med) (min $(awk '{print $7}' $work/rounds | sort -g | head -1), max $(awk '{print $7}' $work/rounds | sort -g | tail -1)); rounds c > a: $(awk '$4 > $3' $work/rounds | wc -l) of $rounds"
