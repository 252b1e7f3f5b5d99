#!/usr/bin/env bash
# Makes an OCI image layout tar (what `protoswarm image load -i` and skopeo's oci-archive: read) from
# root filesystem directories, one uncompressed layer each, lowest first, and an image config:
#   oci-image.sh OUT.tar NAME:TAG CONFIG_JSON LAYER_DIR...
# CONFIG_JSON is the config object of the OCI image config, e.g.
#   '{"Entrypoint":["/app/run"],"Env":["PATH=/bin"],"ExposedPorts":{"80/tcp":{}},"User":"0"}'
# Entries are sorted by name with a fixed mtime and numeric owners as they are in the directory, so
# the same directories and config give the same digests on every run and every machine.
set -euo pipefail
out=${1:?usage: oci-image.sh OUT.tar NAME:TAG CONFIG_JSON LAYER_DIR...}
name=${2:?usage: oci-image.sh OUT.tar NAME:TAG CONFIG_JSON LAYER_DIR...}
config=${3:?usage: oci-image.sh OUT.tar NAME:TAG CONFIG_JSON LAYER_DIR...}
shift 3
(($#)) || { echo "oci-image.sh: no layer directory given" >&2; exit 2; }
export LC_ALL=C

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/blobs/sha256"

# blob FILE: moves FILE into blobs/ under its digest, prints "sha256:HEX SIZE".
blob() {
  local hex size
  hex=$(sha256sum "$1" | cut -d' ' -f1)
  size=$(stat -c %s "$1")
  mv "$1" "$work/blobs/sha256/$hex"
  echo "sha256:$hex $size"
}

reproducible_tar() { tar --sort=name --mtime=@0 --numeric-owner --format=gnu "$@"; }

layers="" diff_ids=""
for dir in "$@"; do
  [ -d "$dir" ] || { echo "oci-image.sh: $dir is not a directory" >&2; exit 2; }
  # Top-level names listed (no "./" prefix), as docker writes layers.
  mapfile -t entries < <(ls -A "$dir")
  reproducible_tar -C "$dir" -cf "$work/layer.tar" -- "${entries[@]}"
  read -r digest size < <(blob "$work/layer.tar")
  layers+="${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"$digest\",\"size\":$size}"
  diff_ids+="${diff_ids:+,}\"$digest\""
done

printf '{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":%s,"rootfs":{"type":"layers","diff_ids":[%s]}}' \
  "$config" "$diff_ids" >"$work/config.json"
read -r config_digest config_size < <(blob "$work/config.json")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[%s]}' \
  "$config_digest" "$config_size" "$layers" >"$work/manifest.json"
read -r manifest_digest manifest_size < <(blob "$work/manifest.json")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
  "$manifest_digest" "$manifest_size" "$name" "${name##*:}" >"$work/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' >"$work/oci-layout"

reproducible_tar --owner=0 --group=0 -C "$work" -cf "$out.partial" oci-layout index.json blobs
mv "$out.partial" "$out"
echo "$name $manifest_digest $(du -h "$out" | cut -f1)"
