#!/bin/sh
# Installs Debian's etcd-server (and etcd-client for etcdctl) for the Raft benchmark's baseline.
# Needs root and the Debian archive. The package's own service is kept from starting: the
# benchmark runs its own members on private ports and data dirs, and a default member on
# 127.0.0.1:2379 left running would only cost CPU during the measurement.
set -eu

if command -v etcd >/dev/null 2>&1; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "etcd is not installed; run as root: apt-get update && apt-get install -y etcd-server etcd-client" >&2
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
apt-get install -y -q --no-install-recommends etcd-server etcd-client
etcd --version
