#!/usr/bin/env bash
# Overlay throughput (issue 7), one run, printed as a Markdown table: iperf3 between tasks on two nodes
# over the VXLAN overlay against the same two nodes over their plain underlay (a veth pair each into
# the lab's bridge), and a published port through the routing mesh (entering on a node that runs no
# task) against the same client reaching the task directly over the overlay.
#   bash benchmarks/overlay-iperf3.sh [seconds per measurement, default 5]
# Needs root and the binaries scripts/setup.sh publishes into out/bin; installs iperf3 from Debian
# when missing. Brings up a lab swarm of its own (1 manager, 2 workers) and removes it at the end.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
secs=${1:-5}
cli=$PWD/out/bin/protoswarm
[ -x "$cli" ] || { echo "overlay-iperf3.sh: $cli is missing; run bash scripts/setup.sh first" >&2; exit 1; }
command -v iperf3 >/dev/null || apt-get install -y -qq iperf3 >/dev/null
lab=iperf$$
work=$(mktemp -d)
cleanup() { "$cli" lab down --name "$lab" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
L() { "$cli" lab exec --name "$lab" "$@"; }

"$cli" lab up --name "$lab" --managers 1 --workers 2 >/dev/null
addr() { "$cli" lab ls --name "$lab" --format json | grep "\"Name\":\"$1\"" | grep -oE '"Address":"[^"]+"' | cut -d'"' -f4; }
m1=$(addr m1); w1=$(addr w1); w2=$(addr w2)
bash scripts/images/iperf3-rootfs.sh "$work/iperf3.tar"
for n in m1 w1 w2; do L "$n" -- protoswarm image import "$work/iperf3.tar" iperf3:latest >/dev/null; done
L m1 -- protoswarm network create -d overlay bench >/dev/null
L m1 -- protoswarm service create --name srv --network bench --constraint node.hostname==w2 \
  --publish published=5201,target=5201 iperf3:latest iperf3 -s >/dev/null
L m1 -- protoswarm service create --name cli --network bench --constraint node.hostname==w1 \
  iperf3:latest sleep 100000 >/dev/null
srv=$(L m1 -- protoswarm service ps srv -q | head -1)
client=$(L m1 -- protoswarm service ps cli -q | head -1)
ip_of() { L w2 -- protoswarm exec "$srv" -- ip -4 addr show "$1" | awk '/inet /{print $2}' | cut -d/ -f1; }
srv_ingress=$(ip_of eth0)
srv_bench=$(ip_of eth1)

# Mbit/s received, from iperf3's summary line.
mbits() { awk '/receiver/ { for (i = 1; i <= NF; i++) if ($i == "Mbits/sec") print $(i-1) }' | tail -1; }
measure() { "$@" -f m -t "$secs" -O 1 2>&1 | mbits; }

L w2 -- iperf3 -s -D -p 5301 >/dev/null
underlay=$(measure L w1 -- iperf3 -c "$w2" -p 5301)
overlay=$(measure L w1 -- protoswarm exec "$client" -- iperf3 -c "$srv_bench")
vip=$(measure L w1 -- protoswarm exec "$client" -- iperf3 -c srv)
direct=$(measure L w1 -- iperf3 -c "$srv_ingress")
mesh=$(measure L w1 -- iperf3 -c "$m1" -p 5201)
L w2 -- pkill -f 'iperf3 -s -D -p 5301' >/dev/null 2>&1 || true

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }
echo
echo "iperf3, TCP, ${secs} s each, w1 -> w2 (lab namespaces on one machine)"
echo
echo "| path | Mbit/s | vs baseline | baseline |"
echo "|---|---:|---:|---|"
echo "| underlay: w1's namespace to w2's, no overlay | $underlay | 1.00x | |"
echo "| overlay: task on w1 to task on w2 (VXLAN) | $overlay | $(ratio "$overlay" "$underlay") | underlay |"
echo "| overlay by service name (VIP, nftables DNAT in the client) | $vip | $(ratio "$vip" "$underlay") | underlay |"
echo "| direct: w1's namespace to the task's ingress address (VXLAN) | $direct | 1.00x | |"
echo "| routing mesh: w1 to m1:5201 (no task there), DNAT to the task on w2 | $mesh | $(ratio "$mesh" "$direct") | direct |"
