#!/usr/bin/env bash
# Runs every ProtoSwarm test (unit, privileged, multi-process lab) and ends with the totals:
#   N passed, N failed, N skipped
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh || exit 1

export PROTOSWARM_CLI="$PWD/out/bin/protoswarm"
export PROTOSWARMD="$PWD/out/bin/protoswarmd"
passed=0 failed=0 skipped=0 status=0
for project in tests/ProtoSwarm.Raft.Tests tests/ProtoSwarm.Tests tests/ProtoSwarm.IntegrationTests; do
  echo "== $project"
  log=$(mktemp)
  dotnet test "$project" -c Release --no-build -nologo --logger "console;verbosity=normal" 2>&1 | tee "$log" | grep -E "^\s*(Failed|Skipped) |error|Error Message|Exception|Assert|^\s+at ProtoSwarm" | grep -vE "^\s*Passed " || true
  count() { grep -E "^\s+$1: +[0-9]+\s*$" "$log" | tail -1 | grep -oE "[0-9]+" || echo 0; }
  if ! grep -qE "^Total tests: +[0-9]+" "$log"; then
    echo "$project: no test summary (build or runner failure):"; tail -30 "$log"; status=1
  else
    p=$(count Passed); f=$(count Failed); s=$(count Skipped)
    echo "$project: $p passed, $f failed, $s skipped"
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
    if ((f > 0)); then
      status=1
      echo "-- failure messages:"
      awk '/^ *Failed /{print} /Error Message:/{p=1} /Stack Trace:/{p=0} p' "$log"
    fi
  fi
  grep -q "Test Run Failed" "$log" && status=1
  rm -f "$log"
done
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
