#!/usr/bin/env bash
# Builds the voting app's five images offline, as OCI image layout tars for `protoswarm image load -i`:
#   OUT_DIR/vote.tar    voting/vote:1     the voting page (port 80)
#   OUT_DIR/worker.tar  voting/worker:1   moves votes from redis into PostgreSQL
#   OUT_DIR/result.tar  voting/result:1   the results page (port 80)
#   OUT_DIR/redis.tar   voting/redis:1    Debian's redis-server
#   OUT_DIR/db.tar      voting/db:1       Debian's PostgreSQL 15
# vote, worker and result are one NativeAOT binary (published once) with its few libraries; redis and
# db are Debian's binaries with the libraries ldd finds. Every image has a shared base layer
# (Debian's static busybox for a shell, /etc/passwd, UTC zone info). Layers are reproducible tars, so
# the digests are the same on every run; an image whose tar is newer than all it is made of is kept.
# Runs as root on Debian; installs the packages it needs with apt-get when they are missing.
set -euo pipefail
usage="usage: build-images.sh OUT_DIR"
out=${1:?$usage}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
mkimage="$repo/scripts/images/oci-image.sh"
export LC_ALL=C
mkdir -p "$out"
out=$(cd "$out" && pwd)
work="$out/.work"
pg=/usr/lib/postgresql/15

need=()
[ -x /bin/busybox ] || need+=(busybox-static)
[ -x /usr/bin/redis-server ] || need+=(redis-server)
[ -x "$pg/bin/postgres" ] || need+=(postgresql-15)
[ -x /usr/bin/setpriv ] || need+=(util-linux)
[ -e /usr/share/zoneinfo/UTC ] || need+=(tzdata)
if ((${#need[@]})); then
  echo "build-images.sh: installing ${need[*]} ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
command -v dotnet >/dev/null 2>&1 || { echo "build-images.sh: the .NET 10 SDK (dotnet on PATH) is needed to publish the app" >&2; exit 1; }

# fresh TARGET INPUT...: true when TARGET exists and no input (file or directory tree) is newer.
fresh() {
  local target=$1 input
  shift
  [ -e "$target" ] || return 1
  for input in "$@"; do
    [ -z "$(find "$input" \( -name bin -o -name obj \) -prune -o -newer "$target" -print -quit)" ] || return 1
  done
}

# libs_of ROOT FILE...: copies the shared libraries ldd says each ELF file loads, the dynamic loader
# included, to the same paths under ROOT (links followed).
libs_of() {
  local root=$1 file lib
  shift
  for file in "$@"; do
    for lib in $(ldd "$file" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
      [ -e "$root$lib" ] && continue
      mkdir -p "$root$(dirname "$lib")"
      cp -L "$lib" "$root$lib"
    done
  done
}

# with_libs ROOT FILE...: each file at its own path under ROOT, with its libraries.
with_libs() {
  local root=$1 file
  shift
  for file in "$@"; do
    mkdir -p "$root$(dirname "$file")"
    cp -L "$file" "$root$file"
  done
  libs_of "$root" "$@"
}

# The NativeAOT binary of vote, worker and result: published again only when its sources changed.
bin="$work/publish/voting"
if ! fresh "$bin" "$here/src" "$repo/Directory.Packages.props" "$repo/Directory.Build.props"; then
  echo "build-images.sh: publishing samples/voting-app/src (NativeAOT, a few minutes) ..."
  rm -rf "$work/publish"
  dotnet publish "$here/src" -c Release -r linux-x64 -o "$work/publish" -nologo -v quiet -clp:ErrorsOnly
fi

# The layer every image starts from, made again on each run (it is small) into a tree whose tar is reproducible.
base="$work/base"
rm -rf "$base"
mkdir -p "$base"/{bin,etc,tmp,run,root,data,usr/local/bin,usr/share/zoneinfo/Etc,var/lib}
cp /bin/busybox "$base/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ "$applet" = busybox ] || ln -s busybox "$base/bin/$applet"
done
cat >"$base/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
postgres:x:999:999:PostgreSQL:/var/lib/postgresql:/bin/sh
redis:x:998:998:redis:/data:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
printf 'root:x:0:\npostgres:x:999:\nredis:x:998:\nnogroup:x:65534:\n' >"$base/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$base/etc/nsswitch.conf"
cp -L /usr/share/zoneinfo/UTC "$base/usr/share/zoneinfo/UTC"
cp -L /usr/share/zoneinfo/UTC "$base/usr/share/zoneinfo/Etc/UTC"
ln -s /usr/share/zoneinfo/UTC "$base/etc/localtime"
chmod 1777 "$base/tmp"

inputs=("$mkimage" "${BASH_SOURCE[0]}")
image() { # image FILE NAME CONFIG LAYER_DIR...: OUT_DIR/FILE, the base layer under the given ones
  local file=$1 name=$2 config=$3
  shift 3
  "$mkimage" "$out/$file" "$name" "$config" "$base" "$@" | sed 's/^/built /'
}

# vote, worker, result: one layer with the binary, shared by the three.
app="$work/app"
if ! fresh "$out/vote.tar" "$bin" "${inputs[@]}" || ! fresh "$out/worker.tar" "$bin" "${inputs[@]}" || ! fresh "$out/result.tar" "$bin" "${inputs[@]}"; then
  rm -rf "$app"
  mkdir -p "$app/app"
  cp "$bin" "$app/app/voting"
  libs_of "$app" "$bin"
  # .NET loads OpenSSL at run time (dlopen, so ldd cannot see it): random numbers, and the SCRAM
  # password exchange with PostgreSQL.
  for lib in libssl.so.3 libcrypto.so.3; do
    path=$(ldconfig -p | awk -v lib="$lib" '$1 == lib && /x86-64/ { print $NF; exit }')
    [ -n "$path" ] || { echo "build-images.sh: $lib not found (apt-get install libssl3)" >&2; exit 1; }
    with_libs "$app" "$path"
  done
  health='"Healthcheck":{"Test":["CMD","/app/voting","probe"],"Interval":2000000000,"Timeout":3000000000,"Retries":3}'
  env='"PATH=/app:/usr/local/bin:/usr/bin:/bin","TZ=UTC"'
  image vote.tar voting/vote:1 \
    "{\"Entrypoint\":[\"/app/voting\",\"vote\"],\"Env\":[$env,\"OPTION_A=Cats\",\"OPTION_B=Dogs\"],\"WorkingDir\":\"/app\",\"User\":\"0\",\"ExposedPorts\":{\"80/tcp\":{}},$health}" "$app"
  image worker.tar voting/worker:1 \
    "{\"Entrypoint\":[\"/app/voting\",\"worker\"],\"Env\":[$env],\"WorkingDir\":\"/app\",\"User\":\"65534:65534\"}" "$app"
  image result.tar voting/result:1 \
    "{\"Entrypoint\":[\"/app/voting\",\"result\"],\"Env\":[$env,\"OPTION_A=Cats\",\"OPTION_B=Dogs\"],\"WorkingDir\":\"/app\",\"User\":\"0\",\"ExposedPorts\":{\"80/tcp\":{}},$health}" "$app"
else
  echo "up to date: vote.tar worker.tar result.tar"
fi

# redis: Debian's redis-server (and redis-cli for the health check), in memory, reachable on its overlay only.
if ! fresh "$out/redis.tar" /usr/bin/redis-server "${inputs[@]}"; then
  layer="$work/redis"
  rm -rf "$layer"
  mkdir -p "$layer/data"
  with_libs "$layer" /usr/bin/redis-server /usr/bin/redis-cli
  chown 998:998 "$layer/data"
  image redis.tar voting/redis:1 \
    '{"Entrypoint":["redis-server"],"Cmd":["--bind","0.0.0.0","--protected-mode","no","--dir","/data","--save","","--appendonly","no"],"Env":["PATH=/usr/local/bin:/usr/bin:/bin"],"WorkingDir":"/data","User":"998:998","ExposedPorts":{"6379/tcp":{}},"Healthcheck":{"Test":["CMD-SHELL","redis-cli -h 127.0.0.1 ping | grep -q PONG"],"Interval":2000000000,"Timeout":3000000000,"Retries":3}}' \
    "$layer"
else
  echo "up to date: redis.tar"
fi

# db: Debian's PostgreSQL 15 (not /usr/local/bin's), its extension libraries less the LLVM JIT, its
# share directory, and an entrypoint that initialises the data directory (the volume) on first start.
if ! fresh "$out/db.tar" "$pg/bin/postgres" "$here/db-entrypoint.sh" "${inputs[@]}"; then
  layer="$work/db"
  rm -rf "$layer"
  mkdir -p "$layer$pg/lib" "$layer/usr/share/postgresql" "$layer/var/lib/postgresql/data" "$layer/run/postgresql"
  with_libs "$layer" "$pg"/bin/{postgres,initdb,pg_ctl,pg_isready,psql} /usr/bin/setpriv
  find "$pg/lib" -maxdepth 1 -name '*.so' ! -name 'llvmjit*' ! -name sepgsql.so -print0 |
    while IFS= read -r -d '' so; do with_libs "$layer" "$so"; done
  cp -a /usr/share/postgresql/15 "$layer/usr/share/postgresql/15"
  rm -rf "$layer/usr/share/postgresql/15/man"
  install -D -m 0755 "$here/db-entrypoint.sh" "$layer/usr/local/bin/db-entrypoint"
  chown -R 999:999 "$layer/var/lib/postgresql" "$layer/run/postgresql"
  chmod 700 "$layer/var/lib/postgresql/data"
  image db.tar voting/db:1 \
    "{\"Entrypoint\":[\"/usr/local/bin/db-entrypoint\"],\"Env\":[\"PATH=$pg/bin:/usr/local/bin:/usr/bin:/bin\",\"PGDATA=/var/lib/postgresql/data\",\"TZ=UTC\",\"LANG=C\"],\"User\":\"0\",\"ExposedPorts\":{\"5432/tcp\":{}},\"StopSignal\":\"SIGINT\",\"Healthcheck\":{\"Test\":[\"CMD\",\"pg_isready\",\"-h\",\"127.0.0.1\",\"-U\",\"postgres\"],\"Interval\":2000000000,\"Timeout\":3000000000,\"Retries\":3}}" \
    "$layer"
else
  echo "up to date: db.tar"
fi
