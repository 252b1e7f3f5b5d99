#!/bin/sh
# Installs Debian's etcd-server (and etcd-client for etcdctl) for the Raft benchmark's baseline.
# Needs root and the Debian archive. The package's own service is kept from starting: the
# benchmark runs its own members on private ports and data dirs, and a default member on
# 127.0.0.1:2379 left running would only cost CPU during the measurement.
set -eu

if command -v etcd >/dev/null 2>&1; then
    exit 0
fi

sh "$(dirname "$0")/apt-install-quiet.sh" etcd-server etcd-client
etcd --version
