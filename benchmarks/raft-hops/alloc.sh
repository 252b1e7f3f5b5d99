#!/bin/bash
# Where the three managers' bytes are allocated during one row of `raft 8` (issue 3): starts the
# benchmark, and 2.5 s into ProtoSwarm's row of WRITERS writers records 4 s of each member's runtime
# GC events (dotnet-trace, AllocationTick samples with stacks), then prints each member's report.
#   bash benchmarks/raft-hops/alloc.sh ProtoSwarm.Benchmarks.dll OUT-DIR [WRITERS=16]
# Installs dotnet-trace into OUT-DIR/tools when it is not on the PATH (from the NuGet registry).
set -euo pipefail
dll=${1:?usage: alloc.sh ProtoSwarm.Benchmarks.dll out-dir [writers]}
out=${2:?usage: alloc.sh ProtoSwarm.Benchmarks.dll out-dir [writers]}
writers=${3:-16}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
trace=$(command -v dotnet-trace || true)
if [ -z "$trace" ]; then
  [ -x "$out/tools/dotnet-trace" ] || dotnet tool install dotnet-trace --tool-path "$out/tools" > /dev/null
  trace=$out/tools/dotnet-trace
fi
dotnet build -c Release -nologo -v q "$here/alloc/AllocReport.csproj" -o "$out/report" > /dev/null
dotnet "$dll" raft 8 > "$out/bench.txt" 2> "$out/bench.err" &
bench=$!
# ProtoSwarm's row starts right after etcd's row of the same number of writers.
until grep -q "etcd 3.4.23 (dotnet-etcd, to the leader), $writers writers:" "$out/bench.txt"; do
  kill -0 "$bench" 2> /dev/null || { echo "the benchmark ended before that row" >&2; exit 1; }
  sleep 0.2
done
sleep 2.5
for id in 1 2 3; do
  pid=$(pgrep -f "ProtoSwarm.Benchmarks.dll raft-member --id $id " | head -1)
  "$trace" collect -p "$pid" --providers Microsoft-Windows-DotNETRuntime:0x1:5 --duration 00:00:00:04 \
    -o "$out/member$id.nettrace" > "$out/trace$id.log" 2>&1 &
done
wait "$bench" || true
wait
leader=$(grep -oE "leader is member [0-9]+" "$out/bench.txt" | grep -oE "[0-9]+$")
for id in 1 2 3; do
  role=follower; [ "$id" = "$leader" ] && role=leader
  echo "### member $id ($role)"
  dotnet "$out/report/AllocReport.dll" "$out/member$id.nettrace" 8
done | tee "$out/report.txt"
