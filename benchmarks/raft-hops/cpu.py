"""Attributes the Raft members' perf samples to components (benchmarks/raft-hops/cpu.sh).

Usage: python3 cpu.py members.script PIDS LEADER_PID
members.script is `perf script -F comm,pid,tid,time,ip,sym,dso` of the members' samples. Each
sample goes to the first rule below that matches its stack (its frames and their libraries). Native
frames of SQLite and libc have no frame pointers, so their samples often have no managed caller:
SQLite's are recognized by its library and its syscalls (pwrite, pread, fcntl), the sockets' by
send/recv. The last column is the share whose leaf is the runtime's allocation or GC code, memset
or a page fault, whatever the component.
"""
import collections
import re
import sys

RULES = [
    ('thread pool: idle workers spinning (sched_yield) or parking', lambda c, t: re.search(r'LowLevelLifoSemaphore::Wait|WorkerThread|__sched_yield', t) and 'Dispatch()' not in t),
    ('snapshot: encode and seal (its own thread)', lambda c, t: c.startswith('.NET Long') or re.search(r'MaybeSnapshot|EncodeSnapshot|StoreCodec::EncodeState', t)),
    ('snapshot: parts, commit, compaction (managed frames), log trim', lambda c, t: re.search(r'SaveSnapshotPart|CommitSnapshot|CompactSome|OnSnapshotPart|OnCompactLog|MemoryRaftLog::Compact|MemoryRaftLog::CreateSnapshot', t)),
    ('JIT (tiered compilation thread)', lambda c, t: c.startswith('.NET Tiered') or 'libclrjit' in t),
    ('GC: background GC thread', lambda c, t: c.startswith('.NET BGC')),
    ('fsync (kernel)', lambda c, t: re.search(r'__x64_sys_fsync|__x64_sys_fdatasync|ext4_sync_file|\bfsync \(', t)),
    ('sealing (AES-GCM) of entries', lambda c, t: re.search(r'Sealer|libcrypto|AesGcm', t)),
    ('SQLite (less fsync and seal; includes snapshot parts and checkpoints without managed frames)', lambda c, t: re.search(r'RaftLogFile|sqlite3|SQLitePCL|Microsoft\.Data\.Sqlite|__libc_pwrite|__libc_pread|__fcntl64|pwrite64|pread64|sys_fcntl', t)),
    ('apply: proposal decode (store codec, NodeObject formatter)', lambda c, t: re.search(r'StoreCodec::DecodeProposal|StoreCodec::ReadChange', t)),
    ('apply: store batch, publish, watches, events, answers', lambda c, t: re.search(r'RaftActor::Apply|StoreState|SwarmStore|SwarmEvent|StoreWatch|RaftPending', t)),
    ('Raft messages (de)serialized by the Raft actor', lambda c, t: re.search(r'RaftActor::(OnEnvelope|SendNow|Send)\(', t) and 'MessagePack' in t),
    ('Raft core (ProtoSwarm.Raft)', lambda c, t: 'ProtoSwarm.Raft.' in t),
    ('Raft actor, the rest (coalescing, sending, glue)', lambda c, t: 'ProtoSwarm.Actors.Raft' in t),
    ('bench-writer actor and proposer on the leader', lambda c, t: re.search(r'BenchWriter|RaftProposer', t)),
    ('kernel networking (send/recv syscalls, softirq)', lambda c, t: re.search(r'__send|__libc_recv|__libc_send|sendmsg|recvmsg|__sys_sendto|__sys_recvfrom|tcp_|epoll|net_rx_action|__netif', t)),
    ('transport: Proto.Remote, gRPC, Kestrel HTTP/2, protobuf', lambda c, t: re.search(r'Proto\.Remote|Grpc|Kestrel|Http2|System\.Net\.Http|Pipelines|Google\.Protobuf|System\.Net\.Sockets', t)),
    ('Proto.Actor mailbox, futures', lambda c, t: '[Proto.Actor]' in t),
    ('thread wake-ups and sleeps (futex, no managed caller)', lambda c, t: re.search(r'futex|pthread_cond', t)),
    ('thread pool dispatch, timers, async machinery', lambda c, t: re.search(r'ThreadPool|ExecutionContext|AsyncTaskMethodBuilder|Threading\.Tasks|Timer', t)),
    ('GC and runtime, no managed caller', lambda c, t: 'libcoreclr' in t or 'CoreLib' in t),
]
OTHER = 'other (kernel)'


def samples(path):
    current = None
    for line in open(path, errors='replace'):
        if not line.strip():
            if current:
                yield current
            current = None
        elif not line.startswith((' ', '\t')):
            if current:
                yield current
            pid = re.search(r'\s(\d+)/\d+\s', line)
            current = (line[:16].strip(), pid.group(1) if pid else '?', [])
        elif current:
            parts = line.strip().split(None, 1)
            current[2].append(parts[1] if len(parts) > 1 else '')
    if current:
        yield current


def main():
    path, pids, leader = sys.argv[1], sys.argv[2].split(','), sys.argv[3]
    counts = {'all': collections.Counter(), 'leader': collections.Counter(), 'followers': collections.Counter()}
    alloc = collections.Counter()
    totals = collections.Counter()
    for comm, pid, frames in samples(path):
        if pid not in pids:
            continue
        stack = '\n'.join(frames)
        component = next((name for name, rule in RULES if rule(comm, stack)), OTHER)
        role = 'leader' if pid == leader else 'followers'
        for key in ('all', role):
            counts[key][component] += 1
            totals[key] += 1
        if re.search(r'libcoreclr|memset|clear_page|asm_exc_page_fault|JIT_New', ' '.join(frames[:3])) and not component.startswith('thread pool: idle'):
            alloc[component] += 1
    share = lambda key, name: f"{100 * counts[key][name] / max(1, totals[key]):.1f}%"
    print(f"{totals['all']} samples of the members ({totals['leader']} the leader's)")
    print('| component | all three | leader | followers | of it, allocation/GC at the leaf |')
    print('|---|---:|---:|---:|---:|')
    for name, _ in counts['all'].most_common():
        print(f"| {name} | {share('all', name)} | {share('leader', name)} | {share('followers', name)} | {100 * alloc[name] / max(1, totals['all']):.1f}% |")


main()
