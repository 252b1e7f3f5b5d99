import re
import sys

path, writers, leader, *followers = sys.argv[1:]
line_re = re.compile(r'(\d+)/\d+\s+([\d.]+):\s+syscalls:(\w+):\s*(.*)$')
events = []
for line in open(path):
    match = line_re.search(line)
    if not match:
        continue
    pid, seconds, name, args = match.groups()
    at = float(seconds) * 1e6
    if name == 'sys_enter_sendto':
        events.append((at, pid, 'send', int(re.search(r'len: (0x[0-9a-f]+)', args).group(1), 16)))
    elif name == 'sys_exit_recvfrom':
        length = int(args.strip(), 16)
        if 1 < length < 1 << 63:  # not a 1-byte peek, not an error
            events.append((at, pid, 'recv', length))
    elif name in ('sys_enter_fsync', 'sys_exit_fsync'):
        events.append((at, pid, name[4:9], 0))
events.sort()

# With one writer one write is in flight: a write runs from the writers' process sending a
# request (the only large message it sends) to its next request. Appends and requests are over
# 256 bytes; append answers and the leader's answer to the writer are under.
BIG = 0x100
starts = [i for i, e in enumerate(events) if e[1] == writers and e[2] == 'send' and e[3] > BIG]
rows = []
for begin, end in zip(starts, starts[1:]):
    window = events[begin:end]
    t0 = window[0][0]

    def first(pid, kind, after, big=None):
        for at, p, k, length in window:
            if p == pid and k == kind and at >= after and (big is None or (length > BIG) == big):
                return at
        return None

    leader_recv = first(leader, 'recv', t0, big=True)
    if leader_recv is None:
        continue
    fsync_in, fsync_out = first(leader, 'enter', leader_recv), first(leader, 'exit_', leader_recv)
    append_sent = first(leader, 'send', leader_recv, big=True)
    peers = []
    for follower in followers:
        recv = first(follower, 'recv', t0, big=True)
        f_in = recv and first(follower, 'enter', recv)
        f_out = recv and first(follower, 'exit_', recv)
        answer = f_out and first(follower, 'send', f_out)
        if None in (recv, f_in, f_out, answer):
            break
        peers.append((answer, recv, f_in, f_out))
    if len(peers) < len(followers) or None in (fsync_in, fsync_out, append_sent):
        continue
    answer, recv, f_in, f_out = min(peers)  # the first answer commits
    answer_recv = first(leader, 'recv', answer, big=False)
    reply = first(leader, 'send', answer, big=False)
    writer_recv = reply and first(writers, 'recv', reply, big=False)
    if None in (answer_recv, reply, writer_recv):
        continue
    rows.append({
        'writer sends -> leader has read it': leader_recv - t0,
        'leader: read -> its fsync starts': fsync_in - leader_recv,
        "leader's fsync": fsync_out - fsync_in,
        'leader: read -> first append written to the socket': append_sent - leader_recv,
        "appends that left after the leader's fsync had returned (mean = share)": 1 if append_sent > fsync_out else 0,
        'append on the wire (leader sends -> follower has read it)': recv - append_sent,
        'follower: read -> its fsync starts': f_in - recv,
        "follower's fsync": f_out - f_in,
        'follower: fsync returned -> answer written to the socket': answer - f_out,
        'answer on the wire': answer_recv - answer,
        'leader: answer read -> reply written to the socket': reply - answer_recv,
        'reply on the wire (leader sends -> writer has read it)': writer_recv - reply,
        "whole write, writer's view": writer_recv - t0,
    })

print(f'{len(rows)} writes paired of {len(starts)} requests')
print('| stage | p50 us | p25-p75 us | mean |')
print('|---|---:|---:|---:|')
for key in rows[0] if rows else []:
    values = sorted(row[key] for row in rows)
    at = lambda q: values[int(q * (len(values) - 1))]
    print(f'| {key} | {at(.5):.0f} | {at(.25):.0f}-{at(.75):.0f} | {sum(values) / len(values):.2f} |')
