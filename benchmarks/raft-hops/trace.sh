#!/bin/bash
set -euo pipefail
dll=${1:?usage: trace.sh ProtoSwarm.Benchmarks.dll out-dir [raft|raft-bounded]}
out=${2:?usage: trace.sh ProtoSwarm.Benchmarks.dll out-dir [raft|raft-bounded]}
kind=${3:-raft}
mkdir -p "$out"
: > "$out/bench.txt"
dotnet "$dll" "$kind" 8 > "$out/bench.txt" 2> "$out/bench.err" &
bench=$!
# ProtoSwarm's 1-writer row starts right after etcd's, whose CPU line ends it.
until grep -q "the 3 etcd members:" "$out/bench.txt"; do
  kill -0 "$bench" 2> /dev/null || { echo "the benchmark ended before its first row" >&2; exit 1; }
  sleep 0.2
done
members=$(pgrep -f "ProtoSwarm.Benchmarks.dll raft-member" | paste -sd,)
sleep 2.5 # past the row's 1 s warm-up
perf record -o "$out/sys.data" -p "$members,$bench" \
  -e syscalls:sys_enter_sendto,syscalls:sys_enter_recvfrom,syscalls:sys_exit_recvfrom \
  -e syscalls:sys_enter_fsync,syscalls:sys_exit_fsync -- sleep 3 2> "$out/perf.err"
wait "$bench"
perf script -i "$out/sys.data" -F pid,tid,time,event,trace > "$out/sys.txt" 2> /dev/null
leader=$(grep -oE "leader is member [0-9]+" "$out/bench.txt" | grep -oE "[0-9]+$")
pids=$(grep -oE "[0-9]+ on 127.0.0.1:[0-9]+, pid=[0-9]+" "$out/bench.txt" | sed -E 's/^([0-9]+) .*pid=([0-9]+)$/\1=\2/')
leader_pid=$(echo "$pids" | grep "^$leader=" | cut -d= -f2)
followers=$(echo "$pids" | grep -v "^$leader=" | cut -d= -f2 | paste -sd' ')
python3 "$(dirname "$0")/hops.py" "$out/sys.txt" "$bench" "$leader_pid" $followers | tee "$out/hops.md"
