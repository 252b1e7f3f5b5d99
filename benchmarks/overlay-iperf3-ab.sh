#!/usr/bin/env bash
# Overlay throughput of two builds side by side (issue 7): a lab swarm each (1 manager, 2 workers), up
# at the same time, an iperf3 server task on w2 and a client task on w1 on an overlay `bench`; each
# round measures, in one lab and then the other (the order alternates), task to task over the overlay
# and w1's namespace to w2's over the underlay, so both builds see the same load from the machine.
#   ROUNDS=8 SECS=5 [PIN=C,S] bash benchmarks/overlay-iperf3-ab.sh BASE_PROTOSWARM NEW_PROTOSWARM
# PIN=C,S: every iperf3 client (overlay and underlay alike, both builds) runs with -A C,S.
# (each argument a protoswarm CLI with its protoswarmd beside it, for example another checkout's
# out/bin/protoswarm). Needs root and iperf3; removes both labs at the end.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
secs=${SECS:-5}; rounds=${ROUNDS:-8}
pin=(); [ -z "${PIN:-}" ] || pin=(-A "$PIN")
declare -A CLI=([base]=$(realpath "${1:?usage: BASE_PROTOSWARM NEW_PROTOSWARM}") [new]=$(realpath "${2:?usage: BASE_PROTOSWARM NEW_PROTOSWARM}"))
declare -A LAB SRV CLIENT W2
work=$(mktemp -d)
cleanup() { for s in base new; do [ -n "${LAB[$s]:-}" ] && "${CLI[$s]}" lab down --name "${LAB[$s]}" >/dev/null 2>&1 || true; done; rm -rf "$work"; }
trap cleanup EXIT
bash scripts/images/iperf3-rootfs.sh "$work/iperf3.tar" >/dev/null
for s in base new; do
  cli=${CLI[$s]}; lab=ab$s$$; LAB[$s]=$lab
  L() { "$cli" lab exec --name "$lab" "$@"; }
  "$cli" lab up --name "$lab" --managers 1 --workers 2 >/dev/null
  for n in m1 w1 w2; do L "$n" -- "$cli" image import "$work/iperf3.tar" iperf3:latest >/dev/null; done
  L m1 -- "$cli" network create -d overlay bench >/dev/null
  L m1 -- "$cli" service create --name srv --network bench --constraint node.hostname==w2 iperf3:latest iperf3 -s >/dev/null
  L m1 -- "$cli" service create --name cli --network bench --constraint node.hostname==w1 iperf3:latest sleep 100000 >/dev/null
  SRV[$s]=$(L m1 -- "$cli" service ps srv -q | head -1)
  CLIENT[$s]=$(L m1 -- "$cli" service ps cli -q | head -1)
  W2[$s]=$("$cli" lab ls --name "$lab" --format json | grep '"Name":"w2"' | grep -oE '"Address":"[^"]+"' | cut -d'"' -f4)
  L w2 -- iperf3 -s -D -p 5301 >/dev/null
done
mbits() { awk '/receiver/ { for (i = 1; i <= NF; i++) if ($i == "Mbits/sec") print $(i-1) }' | tail -1; }
ip_of() { local s=$1; "${CLI[$s]}" lab exec --name "${LAB[$s]}" w2 -- "${CLI[$s]}" exec "${SRV[$s]}" -- ip -4 addr show eth0 | awk '/inet /{print $2}' | cut -d/ -f1; }
declare -A SIP; for s in base new; do SIP[$s]=$(ip_of $s); done
overlay() { local s=$1; "${CLI[$s]}" lab exec --name "${LAB[$s]}" w1 -- "${CLI[$s]}" exec "${CLIENT[$s]}" -- iperf3 -c "${SIP[$s]}" "${pin[@]}" -f m -t "$secs" -O 1 2>&1 | mbits; }
underlay() { local s=$1; "${CLI[$s]}" lab exec --name "${LAB[$s]}" w1 -- iperf3 -c "${W2[$s]}" -p 5301 "${pin[@]}" -f m -t "$secs" -O 1 2>&1 | mbits; }
echo "round side underlay overlay ratio load"
for r in $(seq 1 "$rounds"); do
  order="base new"; [ $((r % 2)) -eq 0 ] && order="new base"
  for s in $order; do
    o=$(overlay $s); u=$(underlay $s)
    awk -v r=$r -v s=$s -v u="$u" -v o="$o" -v l="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN { printf "%d %s %d %d %.3f %s\n", r, s, u, o, o/u, l }'
  done
done
