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
# The sample image: a busybox root filesystem built from Debian's static busybox, imported on every node.
mkdir -p out/images
bash scripts/images/busybox-rootfs.sh "$PWD/out/images/busybox.tar"
nodes=()
for i in $(seq 1 "${MANAGERS:-1}"); do nodes+=("m$i"); done
for i in $(seq 1 "${WORKERS:-2}"); do nodes+=("w$i"); done
for node in "${nodes[@]}"; do
  echo "\$ protoswarm lab exec $node -- protoswarm image import out/images/busybox.tar busybox:latest"
  "$cli" lab exec "$node" --name "${LAB_NAME:-lab}" -- "$cli" image import "$PWD/out/images/busybox.tar" busybox:latest
done
echo
echo "\$ protoswarm service create --name web --replicas 3 busybox:latest sh -c 'echo serving from \$(hostname); exec httpd -f -p 80 -h /var/www'"
"$cli" lab exec m1 --name "${LAB_NAME:-lab}" -- "$cli" service create --name web --replicas 3 busybox:latest \
  sh -c 'echo serving from $(hostname); exec httpd -f -p 80 -h /var/www'
echo
echo "\$ protoswarm service ps web"
"$cli" lab exec m1 --name "${LAB_NAME:-lab}" -- "$cli" service ps web
echo
echo "The swarm keeps running. Try: $cli lab exec m1 -- protoswarm info"
echo "Remove it with:               $cli lab down"
