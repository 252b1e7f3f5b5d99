#!/usr/bin/env bash
# Overlay throughput (issue 7), printed as a Markdown table: iperf3 between tasks on two nodes over the
# VXLAN overlay against the same two nodes over their plain underlay (a veth pair each into the lab's
# bridge), and a published port through the routing mesh (entering on a node that runs no task)
# against the same client reaching the task directly over the overlay.
#   [ROUNDS=N] [LOCK=FILE] [CORES=1] [PIN=C,S] bash benchmarks/overlay-iperf3.sh [seconds per measurement, default 5]
# ROUNDS (default 1): every path is measured once per round; the underlay and the task-to-task
# overlay run back to back, and so do direct and mesh, their order alternating from round to round.
# Each round prints its ratios; the table then gives the median Mbit/s of each path and the median,
# min and max of the per-round ratios (a ratio is only ever taken within one round).
# LOCK: a flock(1) file; the lab is set up and removed under a shared lock on it and the rounds are
# measured under an exclusive one, held at most about 6 minutes at a time (whole rounds only).
# CORES=1: each round also prints, for the underlay and the overlay, how busy each CPU was while
# iperf3 ran (user+system / softirq, from /proc/stat) and iperf3's own CPU use at both ends.
# PIN=C,S: every iperf3 client runs with -A C,S (client on CPU C, its server on CPU S for that test).
# Every iperf3 runs the same way on every path: TCP, one stream, -t seconds, the first second
# omitted, and PIN's -A or none. Needs root and the binaries scripts/setup.sh publishes into out/bin; installs
# iperf3 from Debian when missing. Brings up a lab swarm of its own (1 manager, 2 workers) and
# removes it at the end.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
secs=${1:-5}
rounds=${ROUNDS:-1}
cli=$PWD/out/bin/protoswarm
[ -x "$cli" ] || { echo "overlay-iperf3.sh: $cli is missing; run bash scripts/setup.sh first" >&2; exit 1; }
command -v iperf3 >/dev/null || apt-get install -y -qq iperf3 >/dev/null
lock() { [ -z "${LOCK:-}" ] || flock "$1" 9; }
[ -z "${LOCK:-}" ] || exec 9>>"$LOCK"
lock -s
lab=iperf$$
work=$(mktemp -d)
cleanup() { lock -s; [ -s "$work/iperf3.pid" ] && kill "$(cat "$work/iperf3.pid")" 2>/dev/null; "$cli" lab down --name "$lab" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
# The lab's daemons and iperf3's server must not inherit the lock's descriptor (they would hold it).
L() { "$cli" lab exec --name "$lab" "$@" 9>&-; }

"$cli" lab up --name "$lab" --managers 1 --workers 2 >/dev/null 9>&-
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
L w2 -- iperf3 -s -D -p 5301 -I "$work/iperf3.pid" >/dev/null

# Mbit/s received, from iperf3's summary line; with CORES=1 the output also goes to $work/last.
mbits() { awk '/receiver/ { for (i = 1; i <= NF; i++) if ($i == "Mbits/sec") print $(i-1) }' | tail -1; }
cpu_ticks() { awk '/^cpu[0-9]/ { printf "%s %d %d %d %d\n", $1, $2 + $3 + $4, $8, $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }
# CPU ticks used so far by each process: pid, name, utime+stime (fields 14 and 15 of /proc/PID/stat).
proc_ticks() {
  # cat, not awk, opens the files: a process that exits meanwhile must not cut the list short.
  cat /proc/[0-9]*/stat 2>/dev/null | awk '{ j = 0; for (k = length($0); k > 0; k--) if (substr($0, k, 1) == ")") { j = k; break }
         i = index($0, "("); name = substr($0, i + 1, j - i - 1); gsub(/ /, "_", name)
         split(substr($0, j + 2), f, " "); print $1, name, f[12] + f[13] }' || true
}
# What else used more than 5% of a CPU between two proc_ticks snapshots taken SECONDS apart (iperf3 and softirq threads aside;
# a process that started in between counts with all its time).
others() {
  join -a 2 -e 0 -o 0,2.2,1.3,2.3 <(sort -k1,1 "$1") <(sort -k1,1 "$2") | awk -v s="$3" -v hz="$(getconf CLK_TCK)" '
    $2 != "iperf3" && $2 !~ /^ksoftirqd/ { used[$2] += $4 - $3 }
    END { for (n in used) if (used[n] > 0.05 * s * hz) printf "%s %.0f%% ", n, 100 * used[n] / (s * hz) }'
}
pin=(); [ -z "${PIN:-}" ] || pin=(-A "$PIN")
measure() {
  if [ "${CORES:-0}" = 1 ]; then
    cpu_ticks >"$work/before"
    "$@" "${pin[@]}" -f m -t "$secs" -O 1 -V >"$work/last" 2>&1 || true
    cpu_ticks >"$work/after"
    mbits <"$work/last"
  else
    "$@" "${pin[@]}" -f m -t "$secs" -O 1 2>&1 | mbits
  fi
}
# After a CORES=1 measurement: "cpu0 busy/softirq/steal% cpu1 ...; iperf3 sender/receiver CPU%" (busy: user+system).
cores() {
  join "$work/before" "$work/after" | awk '{ t = $9 - $5; printf "%s %.0f/%.0f/%.0f ", $1, 100 * ($6 - $2) / t, 100 * ($7 - $3) / t, 100 * ($8 - $4) / t }'
  awk '/CPU Utilization/ { gsub(/[(),]/, " "); printf "; iperf3 sender %s receiver %s", $4, $7 }' "$work/last"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "0" }'; }
declare -a U O V D M RO RV RM
held=0
for r in $(seq 1 "$rounds"); do
  # One exclusive hold covers as many whole rounds as fit in 6 minutes (a round takes under a minute).
  if [ "$held" = 0 ]; then lock -x; held=$(date +%s); fi
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  proc_ticks >"$work/procs-before"; start=$(date +%s.%N)
  if [ $((r % 2)) -eq 1 ]; then
    u=$(measure L w1 -- iperf3 -c "$w2" -p 5301); [ "${CORES:-0}" = 1 ] && uc=$(cores)
    o=$(measure L w1 -- protoswarm exec "$client" -- iperf3 -c "$srv_bench"); [ "${CORES:-0}" = 1 ] && oc=$(cores)
    d=$(measure L w1 -- iperf3 -c "$srv_ingress")
    m=$(measure L w1 -- iperf3 -c "$m1" -p 5201)
  else
    o=$(measure L w1 -- protoswarm exec "$client" -- iperf3 -c "$srv_bench"); [ "${CORES:-0}" = 1 ] && oc=$(cores)
    u=$(measure L w1 -- iperf3 -c "$w2" -p 5301); [ "${CORES:-0}" = 1 ] && uc=$(cores)
    m=$(measure L w1 -- iperf3 -c "$m1" -p 5201)
    d=$(measure L w1 -- iperf3 -c "$srv_ingress")
  fi
  v=$(measure L w1 -- protoswarm exec "$client" -- iperf3 -c srv)
  proc_ticks >"$work/procs-after"; took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
  if [ $(($(date +%s) - held)) -gt 300 ]; then lock -s; held=0; fi
  U+=("${u:-0}"); O+=("${o:-0}"); V+=("${v:-0}"); D+=("${d:-0}"); M+=("${m:-0}")
  RO+=("$(ratio "${o:-0}" "${u:-0}")"); RV+=("$(ratio "${v:-0}" "${u:-0}")"); RM+=("$(ratio "${m:-0}" "${d:-0}")")
  echo "round $r (load $load): underlay $u, overlay $o (${RO[-1]}x), VIP $v (${RV[-1]}x), direct $d, mesh $m (${RM[-1]}x)"
  echo "  other processes busy (over 5% of a CPU): $(others "$work/procs-before" "$work/procs-after" "$took")"
  if [ "${CORES:-0}" = 1 ]; then
    echo "  cores underlay: $uc"
    echo "  cores overlay:  $oc"
  fi
done

# Median of the arguments (the mean of the middle two for an even count); stats adds min and max.
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { printf "%.0f", NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
stats() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { printf "%.2fx (%.2f-%.2f)", NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2, a[1], a[NR] }'; }
echo
echo "iperf3, TCP, ${secs} s each, w1 -> w2 (lab namespaces on one machine), $rounds round(s)${PIN:+, pinned -A $PIN}"
echo "Mbit/s: median over the rounds; ratio: median (min-max) of the per-round ratios"
echo
echo "| path | Mbit/s | vs baseline | baseline |"
echo "|---|---:|---:|---|"
echo "| underlay: w1's namespace to w2's, no overlay | $(median "${U[@]}") | 1.00x | |"
echo "| overlay: task on w1 to task on w2 (VXLAN) | $(median "${O[@]}") | $(stats "${RO[@]}") | underlay |"
echo "| overlay by service name (VIP, nftables DNAT in the client) | $(median "${V[@]}") | $(stats "${RV[@]}") | underlay |"
echo "| direct: w1's namespace to the task's ingress address (VXLAN) | $(median "${D[@]}") | 1.00x | |"
echo "| routing mesh: w1 to m1:5201 (no task there), DNAT to the task on w2 | $(median "${M[@]}") | $(stats "${RM[@]}") | direct |"
