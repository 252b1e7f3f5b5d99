#!/usr/bin/env bash
# A gate for a change made by hand on a lab (issue 7): each round measures the underlay (w1's
# namespace to w2's) and the task-to-task overlay (as benchmarks/overlay-iperf3.sh sets them up) with
# the change off and with it on, the order of the two states alternating from round to round; a line
# per round gives both paths in both states and their ratios (on/off, overlay/underlay), so a ratio
# is only ever taken within one round.
#   STATE=benchmarks/hand-gates/X.state [ROUNDS=8] [SECS=5] [PIN=C,S] [LOCK=FILE] [CLI=...] bash benchmarks/overlay-hand-gate.sh
# The state file defines state_on and state_off (and may define setup_extra, run once before the
# rounds, to check the change and print what it did); they may use L (lab exec), $lab, $client, $srv.
# LOCK: the lab is set up under a shared flock and the rounds are measured under an exclusive one, at
# most about 6 minutes at a time. Needs root and the binaries of scripts/setup.sh (or CLI).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
secs=${SECS:-5}; rounds=${ROUNDS:-8}
cli=${CLI:-$PWD/out/bin/protoswarm}
state=$(realpath "${STATE:?STATE=file with state_on and state_off}")
command -v iperf3 >/dev/null || apt-get install -y -qq iperf3 >/dev/null
lock() { [ -z "${LOCK:-}" ] || flock "$1" 9; }
[ -z "${LOCK:-}" ] || exec 9>>"$LOCK"
lock -s
lab=${LAB:-gate$$}
work=$(mktemp -d)
cleanup() { lock -s 2>/dev/null || true; [ -s "$work/iperf3.pid" ] && kill "$(cat "$work/iperf3.pid")" 2>/dev/null; "$cli" lab down --name "$lab" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
# The lab's daemons and iperf3's server must not inherit the lock's descriptor (they would hold it).
L() { "$cli" lab exec --name "$lab" "$@" 9>&-; }
"$cli" lab up --name "$lab" --managers 1 --workers 2 >/dev/null 9>&-
addr() { "$cli" lab ls --name "$lab" --format json | grep "\"Name\":\"$1\"" | grep -oE '"Address":"[^"]+"' | cut -d'"' -f4; }
w2=$(addr w2)
bash scripts/images/iperf3-rootfs.sh "$work/iperf3.tar"
for n in m1 w1 w2; do L "$n" -- "$cli" image import "$work/iperf3.tar" iperf3:latest >/dev/null 2>&1; done
L m1 -- "$cli" network create -d overlay bench >/dev/null
L m1 -- "$cli" service create --name srv --network bench --constraint node.hostname==w2 \
  --publish published=5201,target=5201 iperf3:latest iperf3 -s >/dev/null 2>&1
L m1 -- "$cli" service create --name cli --network bench --constraint node.hostname==w1 \
  iperf3:latest sleep 100000 >/dev/null 2>&1
srv=$(L m1 -- "$cli" service ps srv -q | head -1)
client=$(L m1 -- "$cli" service ps cli -q | head -1)
srv_bench=$(L w2 -- "$cli" exec "$srv" -- ip -4 addr show eth1 | awk '/inet /{print $2}' | cut -d/ -f1)
L w2 -- iperf3 -s -D -p 5301 -I "$work/iperf3.pid" >/dev/null
# shellcheck source=/dev/null
source "$state"
if declare -f setup_extra >/dev/null; then setup_extra; fi
mbits() { awk '/receiver/ { for (i = 1; i <= NF; i++) if ($i == "Mbits/sec") print $(i-1) }' | tail -1; }
pin=(); [ -z "${PIN:-}" ] || pin=(-A "$PIN")
meas() { "$@" "${pin[@]}" -f m -t "$secs" -O 1 2>&1 | mbits; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "0" }'; }
held=0
how=unpinned; [ -z "${PIN:-}" ] || how="pinned -A $PIN"
echo "# $(basename "$state"): $rounds rounds of $secs s, $how, from $(date -u +%H:%M:%S) UTC, load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$rounds"); do
  if [ "$held" = 0 ]; then lock -x; held=$(date +%s); fi
  load=$(cut -d' ' -f1 /proc/loadavg)
  declare -A res=()
  if [ $((r % 2)) -eq 1 ]; then order="off on"; else order="on off"; fi
  for s in $order; do
    "state_$s" >/dev/null
    res[${s}u]=$(meas L w1 -- iperf3 -c "$w2" -p 5301)
    res[${s}o]=$(meas L w1 -- "$cli" exec "$client" -- iperf3 -c "$srv_bench")
  done
  state_off >/dev/null
  echo "round $r (load $load, $order): u off ${res[offu]:-0} on ${res[onu]:-0} on/off $(ratio "${res[onu]:-0}" "${res[offu]:-0}");" \
    "o off ${res[offo]:-0} on ${res[ono]:-0} on/off $(ratio "${res[ono]:-0}" "${res[offo]:-0}");" \
    "ovl/und off $(ratio "${res[offo]:-0}" "${res[offu]:-0}") on $(ratio "${res[ono]:-0}" "${res[onu]:-0}")"
  if [ $(($(date +%s) - held)) -gt 360 ]; then lock -s; held=0; fi
done
echo "# until $(date -u +%H:%M:%S) UTC, load $(cut -d' ' -f1-3 /proc/loadavg)"
