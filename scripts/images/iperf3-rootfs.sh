#!/usr/bin/env bash
# Builds an iperf3 root filesystem tar: the busybox root (scripts/images/busybox-rootfs.sh) plus
# Debian's iperf3 and the shared libraries it links, copied from this machine. The image of the
# overlay throughput benchmark (benchmarks/overlay-iperf3.sh). Load it with
#   protoswarm image import OUT.tar iperf3:latest
set -euo pipefail
out=${1:?usage: iperf3-rootfs.sh OUT.tar}
command -v iperf3 >/dev/null || { echo "iperf3-rootfs.sh: iperf3 is missing; apt-get install iperf3" >&2; exit 1; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
bash "$here/busybox-rootfs.sh" "$dir/base.tar"
mkdir "$dir/root" && tar -C "$dir/root" -xf "$dir/base.tar"
bin=$(command -v iperf3)
mkdir -p "$dir/root/usr/bin"
cp "$bin" "$dir/root/usr/bin/iperf3"
for lib in $(ldd "$bin" | grep -oE '/[^ ]+\.so[^ ]*'); do
  mkdir -p "$dir/root$(dirname "$lib")"
  cp -L "$lib" "$dir/root$lib"
done
tar -C "$dir/root" --numeric-owner --owner=0 --group=0 -cf "$out" .
