#!/usr/bin/env bash
# The main job: build ProtoSwarm and bring up a local 3-node swarm (1 manager, 2 workers), each node
# in its own network namespace, then show the swarm's nodes. `out/bin/protoswarm lab down` removes it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
cli="$PWD/out/bin/protoswarm"
"$cli" lab down --name "${LAB_NAME:-lab}"
"$cli" lab up --managers "${MANAGERS:-1}" --workers "${WORKERS:-2}" --name "${LAB_NAME:-lab}"
echo
echo "\$ protoswarm lab exec m1 -- protoswarm node ls"
"$cli" lab exec m1 --name "${LAB_NAME:-lab}" -- "$cli" node ls
echo
# Until the container runtime lands, the lab's nodes run tasks with the test executor (no process is
# started); the orchestration (scheduling, dispatch, restarts, updates) is the real one.
echo "\$ protoswarm service create --name web --replicas 3 nginx:1"
"$cli" lab exec m1 --name "${LAB_NAME:-lab}" -- "$cli" service create --name web --replicas 3 nginx:1
echo
echo "\$ protoswarm service ps web"
"$cli" lab exec m1 --name "${LAB_NAME:-lab}" -- "$cli" service ps web
echo
echo "The swarm keeps running. Try: $cli lab exec m1 -- protoswarm info"
echo "Remove it with:               $cli lab down"
