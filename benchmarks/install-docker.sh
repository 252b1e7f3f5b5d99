#!/bin/sh
# Installs Debian's docker.io (dockerd, the docker client, containerd, runc) for the swarm-scale
# benchmark's baseline. Needs root and the Debian archive. The package's own service is kept from
# starting: the benchmark starts its own dockerd on a private socket, data root and exec root, and
# removes all of it when it ends.
set -eu

if [ -x /usr/sbin/dockerd ] && [ -x /usr/bin/docker ]; then
    exit 0
fi

sh "$(dirname "$0")/apt-install-quiet.sh" docker.io
/usr/sbin/dockerd --version
