#!/bin/bash
# Where the three managers' CPU goes during one row of `raft 8` (issue 3): starts the benchmark with
# perf maps on (the members inherit the environment), and 1.5 s into ProtoSwarm's row of WRITERS
# writers records 5 s of the whole machine (`perf record -a`: attaching to the members' threads
# instead woke perf 268,000 times in 5 s and halved the row), then attributes the members' samples
# to components with cpu.py. Run it under the machine's exclusive lock.
#   bash benchmarks/raft-hops/cpu.sh ProtoSwarm.Benchmarks.dll OUT-DIR [WRITERS=16]
set -euo pipefail
dll=${1:?usage: cpu.sh ProtoSwarm.Benchmarks.dll out-dir [writers]}
out=${2:?usage: cpu.sh ProtoSwarm.Benchmarks.dll out-dir [writers]}
writers=${3:-16}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
# Without EnableWriteXorExecute=0 the JIT's code sits in a memfd mapping that perf does not name.
DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 dotnet "$dll" raft 8 > "$out/bench.txt" 2>&1 &
bench=$!
# etcd's row of WRITERS writers comes first; ProtoSwarm's starts when its members' line is printed.
until grep -q "^etcd .*, $writers writers:" "$out/bench.txt" && grep -A1 "^etcd .*, $writers writers:" "$out/bench.txt" | grep -q "the 3 etcd members"; do
  kill -0 $bench 2> /dev/null || { echo "the benchmark ended before the row of $writers writers" >&2; exit 1; }
  sleep 0.1
done
sleep 1.5
pids=$(pgrep -f "ProtoSwarm.Benchmarks.dll raft-member" | paste -sd,)
# The member leading now: the last "(Leader)" line so far (leadership may move later in the run).
leader=$(sed -n 's/^\[manager \([0-9]*\)\].*(Leader)$/\1/p' "$out/bench.txt" | tail -1)
perf record -a -F 499 -g -o "$out/perf.data" -- sleep 5 2> "$out/perf.err"
wait $bench
perf script -i "$out/perf.data" --pid "$pids" -F comm,pid,tid,time,ip,sym,dso > "$out/members.script" 2> /dev/null
leaderPid=$(grep -o "$leader on [0-9.:]*, pid=[0-9]*" "$out/bench.txt" | sed 's/.*pid=//')
python3 "$here/cpu.py" "$out/members.script" "$pids" "$leaderPid"
