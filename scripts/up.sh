#!/usr/bin/env bash
# The main job: build ProtoSwarm, bring up a local 3-node swarm (1 manager, 2 workers, each node in
# its own network namespace), build the voting app's images offline, push them to the swarm's own
# registry, deploy the voting app as a stack across the nodes, and forward its published ports to
# this machine's loopback. `out/bin/protoswarm lab down` removes it all.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
cli="$PWD/out/bin/protoswarm"
name="${LAB_NAME:-lab}"
lab() { "$cli" lab exec "$1" --name "$name" -- "${@:2}"; }
say() { echo; echo "\$ $*"; }

"$cli" lab down --name "$name"
"$cli" lab up --managers "${MANAGERS:-1}" --workers "${WORKERS:-2}" --name "$name"
say protoswarm node ls
lab m1 "$cli" node ls

# The images: vote, worker and result (one small NativeAOT program), redis and PostgreSQL from
# Debian's packages, each an OCI image layout built on this machine with no network.
say bash samples/voting-app/build-images.sh out/images/voting
bash samples/voting-app/build-images.sh "$PWD/out/images/voting"

# Loaded once on the manager and pushed to the swarm's registry: the other nodes pull on demand.
for image in vote worker result redis db; do
  say protoswarm image load -i out/images/voting/$image.tar "&&" protoswarm image push voting/$image:1
  lab m1 "$cli" image load -q -i "$PWD/out/images/voting/$image.tar"
  lab m1 "$cli" image push "voting/$image:1"
done

say protoswarm stack deploy --detach=false -c samples/voting-app/voting-app.yml vote
lab m1 "$cli" stack deploy --detach=false -c "$PWD/samples/voting-app/voting-app.yml" vote
say protoswarm stack services vote
lab m1 "$cli" stack services vote
say protoswarm stack ps vote
lab m1 "$cli" stack ps vote

# Published ports answer on every node (the routing mesh); the lab's nodes live in namespaces of
# their own, so a forwarder brings 8080 and 8081 to 127.0.0.1 (loopback only), spreading the
# connections over the nodes in turn.
say protoswarm lab forward -d "${VOTE_PORT:-8080}:8080" "${RESULT_PORT:-8081}:8081"
"$cli" lab forward --name "$name" -d "${VOTE_PORT:-8080}:8080" "${RESULT_PORT:-8081}:8081"

# One vote through each node's published port, then the count from the result service.
say curl -d vote=a "http://127.0.0.1:${VOTE_PORT:-8080}/api/vote" "   (three times: the forward takes the nodes in turn)"
for _ in 1 2 3; do curl -s -m 10 --retry 5 --retry-all-errors --retry-delay 1 -d vote=a "http://127.0.0.1:${VOTE_PORT:-8080}/api/vote"; echo; done
sleep 2
say curl "http://127.0.0.1:${RESULT_PORT:-8081}/api/results"
curl -s -m 10 --retry 5 --retry-all-errors --retry-delay 1 "http://127.0.0.1:${RESULT_PORT:-8081}/api/results"; echo

echo
echo "The voting app runs on a 3-node swarm:"
echo "  vote:    http://127.0.0.1:${VOTE_PORT:-8080}/"
echo "  results: http://127.0.0.1:${RESULT_PORT:-8081}/"
# The lab's own name in the hints: a bare `lab down` would remove the default lab, not this one.
echo "Try: $cli lab exec m1 --name $name -- $cli stack ps vote"
echo "Remove it all with: $cli lab down --name $name"
