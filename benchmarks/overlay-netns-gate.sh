#!/usr/bin/env bash
# Overlay bridge netfilter gate (issue 7): the task-to-task VXLAN path rebuilt by hand with ip(8) in
# throwaway namespaces (prefix ovg-), once with the bridge and vxlan device in the "node" namespace
# (bridge-nf-call-iptables 1, the kernel's default, and an nft table of the ingress table's shape so
# conntrack runs there, as on a node) and once in a child namespace of the node with it 0 (the vxlan
# device made in the node's namespace, so its UDP socket stays there, then moved in). iperf3 between
# two "task" namespaces, against the two node namespaces over the plain underlay; rounds alternate
# the order. Only namespaces made here are touched; all are deleted at the end.
#   ROUNDS=8 SECS=5 bash benchmarks/overlay-netns-gate.sh
# Needs root and iperf3.
set -euo pipefail
P=ovg   # prefix of every namespace made here
secs=${SECS:-5}
rounds=${ROUNDS:-6}
work=$(mktemp -d)
setup() {
  for n in ul n1 n2 n1c n2c a1 a2 b1 b2; do ip netns add $P-$n; done
  E() { ip netns exec $P-"$1" "${@:2}"; }
  E ul ip link add ulbr type bridge; E ul ip link set ulbr up; E ul ip link set lo up
  for i in 1 2; do
    ip link add $P-u$i netns $P-ul type veth peer name eth0 netns $P-n$i
    E ul ip link set $P-u$i master ulbr up
    E n$i ip addr add 10.99.0.$i/24 dev eth0; E n$i ip link set eth0 up; E n$i ip link set lo up
    # a node's namespace: the ingress table's shape (nat prerouting/output, filter forward), so conntrack runs
    E n$i nft -f - <<NFT
table ip ovg {
  chain prerouting { type nat hook prerouting priority -100; policy accept; fib daddr type local tcp dport 5999 dnat ip to 10.98.0.9:80; }
  chain output { type nat hook output priority -100; policy accept; fib daddr type local ip daddr != 127.0.0.0/8 tcp dport 5999 dnat ip to 10.98.0.9:80; }
  chain forward { type filter hook forward priority 0; policy accept; ct status dnat accept; }
}
NFT
    E n$i sysctl -qw net.ipv4.ip_forward=1
    other=$((3 - i))
    # (a): vxlan + bridge in the node namespace, bridge-nf-call-iptables=1 (the default)
    E n$i ip link add vxa type vxlan id 4001 local 10.99.0.$i dstport 4789 nolearning proxy
    E n$i ip link add bra type bridge
    E n$i ip link set vxa mtu 1450 master bra up
    E n$i ip addr add 10.201.0.254/24 dev bra; E n$i ip link set bra mtu 1450 up
    ip link add $P-a$i-h netns $P-n$i type veth peer name eth1 netns $P-a$i
    E n$i ip link set $P-a$i-h mtu 1450 master bra up
    E a$i ip link set lo up; E a$i ip link set eth1 mtu 1450 address 02:42:c9:00:00:0$i up; E a$i ip addr add 10.201.0.$i/24 dev eth1
    E n$i bridge fdb append 02:42:c9:00:00:0$other dev vxa dst 10.99.0.$other self permanent
    E n$i ip neigh replace 10.201.0.$other lladdr 02:42:c9:00:00:0$other dev vxa nud permanent
    # (b): vxlan made in the node namespace (its UDP socket stays there), moved into a child namespace with the bridge
    E n$i ip link add vxb type vxlan id 4002 local 10.99.0.$i dstport 4789 nolearning proxy
    E n$i ip link set vxb netns $P-n${i}c
    E n${i}c sysctl -qw net.bridge.bridge-nf-call-iptables=0 net.bridge.bridge-nf-call-ip6tables=0
    E n${i}c ip link set lo up
    E n${i}c ip link add brb type bridge
    E n${i}c ip link set vxb mtu 1450 master brb up
    E n${i}c ip addr add 10.202.0.254/24 dev brb; E n${i}c ip link set brb mtu 1450 up
    ip link add $P-b$i-h netns $P-n${i}c type veth peer name eth1 netns $P-b$i
    E n${i}c ip link set $P-b$i-h mtu 1450 master brb up
    E b$i ip link set lo up; E b$i ip link set eth1 mtu 1450 address 02:42:ca:00:00:0$i up; E b$i ip addr add 10.202.0.$i/24 dev eth1
    E n${i}c bridge fdb append 02:42:ca:00:00:0$other dev vxb dst 10.99.0.$other self permanent
    E n${i}c ip neigh replace 10.202.0.$other lladdr 02:42:ca:00:00:0$other dev vxb nud permanent
  done
  E n2 iperf3 -s -D -p 5301 --pidfile $work/u.pid
  E a2 iperf3 -s -D -p 5201 --pidfile $work/a.pid
  E b2 iperf3 -s -D -p 5201 --pidfile $work/b.pid
  sleep 1
}
teardown() {
  for f in u a b; do [ -f $work/$f.pid ] && kill "$(cat $work/$f.pid)" 2>/dev/null || true; rm -f $work/$f.pid; done
  for n in ul n1 n2 n1c n2c a1 a2 b1 b2; do ip netns del $P-$n 2>/dev/null || true; done
  [ "${1:-}" = final ] && rm -rf "$work"; true
}
mbits() { awk '/receiver/ { for (i = 1; i <= NF; i++) if ($i == "Mbits/sec") print $(i-1) }' | tail -1; }
measure() { ip netns exec $P-"$1" iperf3 -c "$2" -p "$3" -f m -t "$secs" -O 1 2>&1 | mbits; }
trap "teardown final" EXIT
teardown
setup
echo "bridge-nf-call-iptables: n1=$(ip netns exec $P-n1 sysctl -n net.bridge.bridge-nf-call-iptables) n1c=$(ip netns exec $P-n1c sysctl -n net.bridge.bridge-nf-call-iptables)"
echo "round underlay a_nodens b_childns a/u b/u b/a load"
for r in $(seq 1 "$rounds"); do
  if [ $((r % 2)) -eq 1 ]; then u=$(measure n1 10.99.0.2 5301); a=$(measure a1 10.201.0.2 5201); b=$(measure b1 10.202.0.2 5201)
  else b=$(measure b1 10.202.0.2 5201); a=$(measure a1 10.201.0.2 5201); u=$(measure n1 10.99.0.2 5301); fi
  awk -v r=$r -v u=$u -v a=$a -v b=$b -v l="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN{printf "%d %d %d %d %.3f %.3f %.3f %s\n", r,u,a,b,a/u,b/u,b/a,l}'
done
