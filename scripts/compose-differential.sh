#!/usr/bin/env bash
# Loads every compose file under a directory with docker's `stack config` (the docker client alone,
# no daemon: it loads, merges, interpolates and validates as `docker stack deploy` does) and with
# ours (`protoswarm stack config`), and classifies each file:
#   both-accept, both-refuse, we-refuse (docker accepts), we-accept (docker refuses);
# for files both accept, the resolved essentials (image, mode, replicas, ports, networks,
# environment, volumes, secrets, configs, resources, update/rollback/restart settings, placement,
# command, entrypoint) are compared, and a difference is reported as "differ"; and the number whose
# printed config is the same text as docker's, byte for byte, is counted.
#
#   scripts/compose-differential.sh DIR [OUT.tsv]
#
# Compose files: *.yml / *.yaml holding a top-level services: key. Each is loaded from its own
# directory (so an env_file or secret file beside it is found; neither docker nor we read a .env),
# with a small fixed environment.
# COMPOSE_ENV adds variables to that environment ("TAG=1.2 REPLICAS=3"). PROTOSWARM_CLI names our CLI (default out/bin/protoswarm); docker must be on PATH; python3 with
# PyYAML does the comparison. Prints one line per file and the counts per class.
set -euo pipefail

dir=${1:?usage: compose-differential.sh DIR [OUT.tsv]}
out=${2:-/dev/null}
here=$(cd "$(dirname "$0")/.." && pwd)
cli=${PROTOSWARM_CLI:-$here/out/bin/protoswarm}
command -v docker >/dev/null || { echo "docker is not on PATH" >&2; exit 2; }
[ -x "$cli" ] || [ -f "$cli" ] || { echo "no CLI at $cli (bash scripts/setup.sh, or set PROTOSWARM_CLI)" >&2; exit 2; }
ours=("$cli")
[[ $cli == *.dll ]] && ours=(dotnet "$cli")

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
printf 'file\tclass\tdocker\tours\n' >"$out"
declare -A counts=()
same=0

while IFS= read -r -d '' file; do
    grep -qE '^services:' "$file" 2>/dev/null || continue
    cd "$(dirname "$file")"
    base=$(basename "$file")
    set +e
    # shellcheck disable=SC2086 # COMPOSE_ENV is a list of NAME=value words
    env -i PATH="$PATH" HOME=/root ${COMPOSE_ENV:-} DOCKER_HOST=unix:///nonexistent DOCKER_CONFIG="$scratch" \
        docker stack config -c "$base" >"$scratch/docker.yml" 2>"$scratch/docker.err"
    docker_rc=$?
    # shellcheck disable=SC2086
    env -i PATH="$PATH" HOME=/root ${COMPOSE_ENV:-} DOTNET_CLI_HOME="$scratch" \
        "${ours[@]}" stack config -c "$base" >"$scratch/ours.yml" 2>"$scratch/ours.err"
    ours_rc=$?
    set -e
    cd - >/dev/null
    if [ $docker_rc -eq 0 ] && [ $ours_rc -eq 0 ]; then
        if diff=$(python3 - "$scratch/docker.yml" "$scratch/ours.yml" <<'PY'
import os, re, sys, yaml

def seconds(v):
    if v is None: return None
    s = str(v)
    units = {'ns': 1e-9, 'us': 1e-6, 'µs': 1e-6, 'ms': 1e-3, 's': 1, 'm': 60, 'h': 3600}
    total, found = 0.0, False
    for n, u in re.findall(r'([0-9.]+)(ns|us|µs|ms|s|m|h)', s):
        total += float(n) * units[u]; found = True
    return round(total, 6) if found else s

def essentials(path):
    doc = yaml.safe_load(open(path)) or {}
    result = {}
    for name, svc in sorted((doc.get('services') or {}).items()):
        svc = svc or {}
        dep = svc.get('deploy') or {}
        def upd(c):
            if not c: return None
            return {k: (seconds(v) if k in ('delay', 'monitor', 'window') else (float(v) if k == 'max_failure_ratio' else v)) for k, v in c.items()}
        def res(r):
            return {part: {k: (float(v) if k == 'cpus' else int(v) if k == 'memory' else v) for k, v in (amounts or {}).items()}
                    for part, amounts in (r or {}).items() if amounts}
        ports = sorted((p.get('target'), p.get('published'), p.get('protocol') or 'tcp', p.get('mode') or 'ingress')
                       for p in (svc.get('ports') or []))
        # A bind source is a directory on the node: '/var/lib/docker/' and '/var/lib/docker' are the same one.
        vols = sorted((v.get('type'), os.path.normpath(v['source']) if v.get('type') == 'bind' and v.get('source') else v.get('source') or '',
                       v.get('target'), bool(v.get('read_only')))
                      for v in (svc.get('volumes') or []))
        env = {k: (None if v is None else str(v)) for k, v in (svc.get('environment') or {}).items()}
        refs = lambda key: sorted(tuple(str(r.get(k)) for k in ('source', 'target', 'uid', 'gid', 'mode'))
                                  for r in (svc.get(key) or []))
        hc = svc.get('healthcheck')
        result[name] = {
            'image': svc.get('image'), 'mode': dep.get('mode') or 'replicated', 'replicas': dep.get('replicas'),
            'ports': ports, 'networks': sorted((svc.get('networks') or {'default': None}).keys()),
            'environment': env, 'volumes': vols, 'secrets': refs('secrets'), 'configs': refs('configs'),
            'resources': res(dep.get('resources')), 'update_config': upd(dep.get('update_config')),
            'rollback_config': upd(dep.get('rollback_config')), 'restart_policy': upd(dep.get('restart_policy')),
            'placement': dep.get('placement') or {}, 'endpoint_mode': dep.get('endpoint_mode'),
            'command': svc.get('command'), 'entrypoint': svc.get('entrypoint'),
            'healthcheck': None if not hc else {k: (seconds(v) if k in ('interval', 'timeout', 'start_period') else v) for k, v in hc.items()},
            'stop_grace_period': seconds(svc.get('stop_grace_period')),
        }
    return result

a, b = essentials(sys.argv[1]), essentials(sys.argv[2])
diffs = []
for name in sorted(set(a) | set(b)):
    if name not in a or name not in b:
        diffs.append(f'service {name} only in {"ours" if name in b else "docker"}'); continue
    for key in a[name]:
        if a[name][key] != b[name][key]:
            diffs.append(f'{name}.{key}: docker {a[name][key]!r} ours {b[name][key]!r}')
print('; '.join(diffs))
sys.exit(1 if diffs else 0)
PY
        ); then
            class=both-accept
            # The printed configs byte for byte: key order, shapes and quoting as docker's.
            cmp -s "$scratch/docker.yml" "$scratch/ours.yml" && same=$(( same + 1 ))
        else
            class=differ
        fi
        docker_msg=ok
        ours_msg=${diff:-ok}
    else
        case "$docker_rc/$ours_rc" in
            0/*) class=we-refuse ;;
            */0) class=we-accept ;;
            *) class=both-refuse ;;
        esac
        docker_msg=$(tr '\n' ' ' <"$scratch/docker.err" | cut -c1-300)
        ours_msg=$({ grep -E '^[^ ]+:[0-9]+:[0-9]+: ' "$scratch/ours.err" || cat "$scratch/ours.err"; } | tr '\n' ' ' | cut -c1-300)
        [ $docker_rc -eq 0 ] && docker_msg=ok
        [ $ours_rc -eq 0 ] && ours_msg=ok
    fi
    counts[$class]=$(( ${counts[$class]:-0} + 1 ))
    printf '%s\t%s\t%s\t%s\n' "${file#"$dir"/}" "$class" "$docker_msg" "$ours_msg" | tee -a "$out"
done < <(find "$dir" -type f \( -name '*.yml' -o -name '*.yaml' \) -print0 | sort -z)

echo
for class in both-accept both-refuse differ we-refuse we-accept; do
    printf '%-12s %d\n' "$class" "${counts[$class]:-0}"
done
printf '%-12s %d (of both-accept: stack config printed the same text as docker)\n' same-text "$same"
