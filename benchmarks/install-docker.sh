#!/bin/sh
# Installs Debian's docker.io (dockerd, the docker client, containerd, runc) for the swarm-scale
# benchmark's baseline. Needs root and the Debian archive. The package's own service is kept from
# starting: the benchmark starts its own dockerd on a private socket, data root and exec root, and
# removes all of it when it ends.
set -eu

if [ -x /usr/sbin/dockerd ] && [ -x /usr/bin/docker ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "docker.io is not installed; run as root: apt-get update && apt-get install -y docker.io" >&2
    exit 1
fi

policy=/usr/sbin/policy-rc.d
added_policy=no
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod +x "$policy"
    added_policy=yes
fi
cleanup() { if [ "$added_policy" = yes ]; then rm -f "$policy"; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends docker.io
/usr/sbin/dockerd --version
