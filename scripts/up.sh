#!/usr/bin/env bash
# The main job: build ProtoSwarm and bring up a local 3-node swarm (1 manager, 2 workers), each node
# in its own network namespace, then run a web service on an overlay network with a published port. `out/bin/protoswarm lab down` removes it.
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
lab() { "$cli" lab exec "$1" --name "${LAB_NAME:-lab}" -- "${@:2}"; }
echo "\$ protoswarm network create -d overlay appnet"
lab m1 "$cli" network create -d overlay appnet
echo
echo "\$ protoswarm service create --name web --replicas 3 --network appnet --publish 8080:80 busybox:latest sh -c '... httpd ...'"
lab m1 "$cli" service create --name web --replicas 3 --network appnet --publish 8080:80 busybox:latest \
  sh -c 'echo "<h1>Hello from $(hostname)</h1>" > /var/www/index.html; echo serving from $(hostname); exec httpd -f -p 80 -h /var/www'
echo
echo "\$ protoswarm service ps web"
lab m1 "$cli" service ps web
echo
# The routing mesh: port 8080 answers on every node and spreads the connections over the 3 replicas.
m1=$("$cli" lab ls --name "${LAB_NAME:-lab}" --format json | grep '"Name":"m1"' | grep -oE '"Address":"[^"]+"' | cut -d'"' -f4)
echo "\$ curl http://$m1:8080/   (from w1's namespace, three times)"
for _ in 1 2 3; do lab w1 curl -s -m 5 "http://$m1:8080/" || echo "(no answer)"; done
echo
echo "The swarm keeps running. Try: $cli lab exec m1 -- protoswarm info"
echo "Remove it with:               $cli lab down"
