#!/bin/sh
# apt-install-quiet.sh PACKAGE...: installs Debian packages for a benchmark's baseline without
# letting their own services start (a policy-rc.d that refuses, removed afterwards when it was
# not there before): the benchmarks start their own daemons on private ports and directories.
set -eu

if [ "$(id -u)" -ne 0 ]; then
    echo "$* not installed; run as root: apt-get update && apt-get install -y $*" >&2
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
apt-get install -y -q --no-install-recommends "$@"
