#!/usr/bin/env bash
# Installs what ProtoSwarm needs on a fresh Debian machine, then builds it into out/bin.
# Sourced by scripts/up.sh and scripts/test.sh; safe to run again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

need=()
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v nsenter >/dev/null 2>&1 || need+=(util-linux)
# The routing mesh and VIPs load libnftables (nftables' package brings it and nft, for looking);
# conntrack (the tool) lets the tests make and list flows; the node uses netlink itself. curl is
# the lab tests' and the main job's client of published ports.
command -v nft >/dev/null 2>&1 || need+=(nftables)
command -v conntrack >/dev/null 2>&1 || need+=(conntrack)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v iperf3 >/dev/null 2>&1 || need+=(iperf3)
# The voting app's lab test freezes and kills a worker's process with kill(1).
[ -x /bin/kill ] || need+=(procps)
command -v sqlite3 >/dev/null 2>&1 || true
# Test and sample images are built from Debian's static busybox (a 2 MB root in under a second).
[ -x /bin/busybox ] || need+=(busybox-static)
# The registry's tests copy images in and out with skopeo (a real OCI client), and its benchmark
# serves the same image from Debian's docker-registry (distribution 2.8) as the baseline.
command -v skopeo >/dev/null 2>&1 || need+=(skopeo)
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
# The external CA tests sign through a real CFSSL server (`cfssl serve`), Debian's golang-cfssl.
command -v cfssl >/dev/null 2>&1 || need+=(golang-cfssl)
# The container init is NativeAOT, linked statically by gcc (its csproj names it) against glibc's libc.a.
command -v gcc >/dev/null 2>&1 || need+=(gcc)
[ -f /usr/lib/x86_64-linux-gnu/libc.a ] || need+=(libc6-dev)
if ((${#need[@]})); then
  echo "Installing ${need[*]} ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "The .NET SDK 10 is needed (dotnet on PATH); install it, then run this again." >&2
  exit 1
fi

echo "Building ProtoSwarm ..."
dotnet build ProtoSwarm.sln -c Release -nologo -v quiet -clp:ErrorsOnly
mkdir -p out/bin
# protoswarm finds protoswarmd beside itself; publish both into one folder. protoswarmd is ReadyToRun (its
# csproj), which needs a restore for this machine's RID and the crossgen2 package; the CLI is NativeAOT, linked
# by gcc against the machine's glibc (its csproj), and restores its own RID too. So these two restore again
# rather than reuse the build's.
dotnet publish hosting/ProtoSwarm.Node -c Release -o out/bin -nologo -v quiet -clp:ErrorsOnly
dotnet publish hosting/ProtoSwarm.Cli -c Release -o out/bin -nologo -v quiet -clp:ErrorsOnly
# The container init (NativeAOT, statically linked: it needs no shared library) sits beside protoswarmd,
# where the node host looks for it.
dotnet publish hosting/ProtoSwarm.ContainerInit -c Release -o out/bin -nologo -v quiet -clp:ErrorsOnly
