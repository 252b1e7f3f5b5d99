#!/usr/bin/env bash
# Builds a busybox root filesystem tar from Debian's static busybox (about 2 MB, under a second):
# the image of the lab's sample service and of the tests. Load it on a node with
#   protoswarm image import OUT.tar busybox:latest
set -euo pipefail
out=${1:?usage: busybox-rootfs.sh OUT.tar}
[ -x /bin/busybox ] || { echo "busybox-rootfs.sh: /bin/busybox is missing; apt-get install busybox-static" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir"/{bin,etc,tmp,root,home,mnt,run,var/www}
cp /bin/busybox "$dir/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ "$applet" = busybox ] || ln -s busybox "$dir/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$dir/etc/passwd"
printf 'root:x:0:\nwww-data:x:33:\nnogroup:x:65534:\n' >"$dir/etc/group"
echo '<h1>Hello from ProtoSwarm</h1>' >"$dir/var/www/index.html"
chmod 1777 "$dir/tmp"
tar -C "$dir" --numeric-owner --owner=0 --group=0 -cf "$out" .
