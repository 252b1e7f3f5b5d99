namespace ProtoSwarm.Raft.Tests.Simulation;

/// <summary>
/// Raft's safety properties, checked incrementally as the driver persists, sends and applies, so
/// that "after every step" costs little. Everything here is history: what any peer ever persisted,
/// committed, led or applied. Each check throws <see cref="InvariantException"/> naming the property.
/// </summary>
internal sealed class RaftInvariants
{
    private readonly Dictionary<ulong, ulong> _leaderOfTerm = [];

    // (voter, term) -> the candidate it granted, across all its lives.
    private readonly Dictionary<(ulong Voter, ulong Term), ulong> _votes = [];

    // (index, term) -> what the entry was, and the term of the entry before it in the log that held it.
    private readonly Dictionary<(ulong Index, ulong Term), (EntryType Type, ulong DataHash, ulong? PrevTerm)> _entries = [];

    // index -> (term of the committed entry, a term at or after which it was known committed).
    private readonly Dictionary<ulong, (ulong Term, ulong CommitTerm)> _committed = [];

    // index -> state machine digest after applying it.
    private readonly Dictionary<ulong, ulong> _digestAt = [];

    private readonly Dictionary<long, ulong> _ackedIndex = [];
    private readonly SortedDictionary<ulong, List<long>> _ackedByIndex = [];

    // A leader's log since it was first seen leading in its term: (term, first index, terms from there).
    private readonly Dictionary<ulong, LeaderTrack> _tracks = [];

    public ulong HighestCommitted { get; private set; }

    public int LeadersSeen => _leaderOfTerm.Count;

    public int AckedWrites => _ackedIndex.Count;

    private sealed class LeaderTrack(ulong term, ulong baseIndex)
    {
        public ulong Term { get; } = term;

        public ulong Base { get; } = baseIndex;

        public List<ulong> Terms { get; } = [];

        public ulong Last => Base + (ulong)Terms.Count - 1;

        public ulong? TermAt(ulong i) => i >= Base && i <= Last ? Terms[(int)(i - Base)] : null;
    }

    private static void Fail(string property, string detail) => throw new InvariantException($"{property}: {detail}");

    /// <summary>After every step: one leader per term (across history), terms and commit indices never go back.</summary>
    public void ObserveStatus(SimPeer peer, RaftStatus status)
    {
        if (status.Id != peer.Id)
        {
            Fail("status", $"peer {peer.Id} reports id {status.Id}");
        }

        if (status.Role == StateRole.Leader)
        {
            if (_leaderOfTerm.TryGetValue(status.Term, out var other) && other != peer.Id)
            {
                Fail("election safety", $"peers {other} and {peer.Id} both led term {status.Term}");
            }

            _leaderOfTerm[status.Term] = peer.Id;
        }
        else
        {
            _tracks.Remove(peer.Id);
        }

        if (status.Term < peer.DurableHardState.Term)
        {
            Fail("term monotonic", $"peer {peer.Id} is at term {status.Term} below its durable term {peer.DurableHardState.Term}");
        }

        if (status.Commit < peer.CommitSeen || status.Commit < peer.DurableHardState.Commit)
        {
            Fail("commit monotonic", $"peer {peer.Id} commit went back to {status.Commit} (seen {peer.CommitSeen}, durable {peer.DurableHardState.Commit})");
        }

        peer.CommitSeen = status.Commit;
    }

    /// <summary>A Ready, before the driver persists it (the view is the log as it will be after).</summary>
    public void BeforePersist(SimPeer peer, Ready ready, RaftStatus status)
    {
        var view = new LogView(peer.Log, ready.Snapshot, ready.Entries);
        var durable = peer.DurableHardState;

        foreach (var m in ready.Messages.AddRange(ready.MessagesAfterWrite))
        {
            // Forwarded requests (a proposal, a read, a transfer) keep their original sender, as etcd's do.
            var forwarded = m.Type is MessageType.Propose or MessageType.ReadIndex or MessageType.TransferLeader;
            if ((m.From != peer.Id && !forwarded) || m.To == 0 || m.To == peer.Id || m.Type is MessageType.Hup or MessageType.Beat or MessageType.SnapStatus or MessageType.Unreachable)
            {
                Fail("ready messages", $"peer {peer.Id} wants to send {m.Type} from {m.From} to {m.To}");
            }
        }

        var tracked = _tracks.TryGetValue(peer.Id, out var track) && status.Role == StateRole.Leader && track.Term == status.Term;

        if (ready.Snapshot is { IsEmpty: false } snap)
        {
            if (tracked)
            {
                Fail("leader append-only", $"leader {peer.Id} of term {status.Term} installs a snapshot at {snap.Metadata.Index}");
            }

            if (snap.Metadata.Index <= peer.Log.Snapshot().Metadata.Index)
            {
                Fail("snapshot", $"peer {peer.Id} gets snapshot {snap.Metadata.Index} not newer than its own {peer.Log.Snapshot().Metadata.Index}");
            }

            if (_committed.TryGetValue(snap.Metadata.Index, out var c) && c.Term != snap.Metadata.Term)
            {
                Fail("state machine safety", $"peer {peer.Id} gets a snapshot at {snap.Metadata.Index} term {snap.Metadata.Term}, but term {c.Term} was committed there");
            }
        }

        if (!ready.Entries.IsDefaultOrEmpty)
        {
            var first = ready.Entries[0].Index;
            var floor = ready.Snapshot is { IsEmpty: false } s ? s.Metadata.Index : peer.Log.FirstIndex() - 1;
            var lastBefore = ready.Snapshot is { IsEmpty: false } s2 ? s2.Metadata.Index : peer.Log.LastIndex();
            if (first > lastBefore + 1)
            {
                Fail("log contiguity", $"peer {peer.Id} appends from {first} but its log ends at {lastBefore}");
            }

            if (first <= floor)
            {
                Fail("log contiguity", $"peer {peer.Id} appends from {first}, at or below its snapshot {floor}");
            }

            for (var k = 0; k < ready.Entries.Length; k++)
            {
                var e = ready.Entries[k];
                if (e.Index != first + (ulong)k || e.Term == 0)
                {
                    Fail("log contiguity", $"peer {peer.Id}: entry {k} of a Ready is {e.Index}/{e.Term}, expected index {first + (ulong)k}");
                }

                ulong? prevTerm = k > 0 ? ready.Entries[k - 1].Term : view.Term(e.Index - 1);
                if (prevTerm > e.Term)
                {
                    Fail("log terms", $"peer {peer.Id}: entry {e.Index} has term {e.Term} after one of term {prevTerm}");
                }

                var print = (e.Type, Hash(e.Data), prevTerm);
                if (_entries.TryGetValue((e.Index, e.Term), out var known))
                {
                    if (known.Type != print.Type || known.DataHash != print.Item2 || (known.PrevTerm is not null && prevTerm is not null && known.PrevTerm != prevTerm))
                    {
                        Fail("log matching", $"peer {peer.Id} holds entry {e.Index}/{e.Term} ({print.Type}, prev term {prevTerm}) unlike another peer's ({known.Type}, prev term {known.PrevTerm})");
                    }
                }
                else
                {
                    _entries[(e.Index, e.Term)] = print;
                }
            }
        }

        if (ready.HardState is { } hs)
        {
            if (hs.Term < durable.Term)
            {
                Fail("durable term", $"peer {peer.Id} persists term {hs.Term} below {durable.Term}");
            }

            if (hs.Term == durable.Term && durable.Vote != 0 && hs.Vote != durable.Vote)
            {
                Fail("one vote per term", $"peer {peer.Id} voted {durable.Vote} then {hs.Vote} in term {hs.Term}");
            }

            if (hs.Commit < durable.Commit)
            {
                Fail("durable commit monotonic", $"peer {peer.Id} persists commit {hs.Commit} below {durable.Commit}");
            }

            if (hs.Commit > view.LastIndex)
            {
                Fail("commit within log", $"peer {peer.Id} persists commit {hs.Commit} past its last entry {view.LastIndex}");
            }
        }

        if (status.Role != StateRole.Leader)
        {
            return;
        }

        if (tracked)
        {
            CheckLeaderAppendOnly(peer, ready, track!, view);
        }
        else
        {
            StartLeaderTrack(peer, status.Term, view);
        }
    }

    private static void CheckLeaderAppendOnly(SimPeer peer, Ready ready, LeaderTrack track, LogView view)
    {
        if (view.LastIndex < track.Last)
        {
            Fail("leader append-only", $"leader {peer.Id} of term {track.Term} shrinks its log from {track.Last} to {view.LastIndex}");
        }

        if (ready.Entries.IsDefaultOrEmpty)
        {
            return;
        }

        foreach (var e in ready.Entries)
        {
            var had = track.TermAt(e.Index);
            if (had is not null && had != e.Term)
            {
                Fail("leader append-only", $"leader {peer.Id} of term {track.Term} overwrites its entry {e.Index}/{had} with term {e.Term}");
            }

            if (e.Index == track.Last + 1)
            {
                track.Terms.Add(e.Term);
            }
        }
    }

    private void StartLeaderTrack(SimPeer peer, ulong term, LogView view)
    {
        var track = new LeaderTrack(term, view.FloorIndex);
        for (var i = view.FloorIndex; i <= view.LastIndex; i++)
        {
            track.Terms.Add(view.Term(i) ?? 0);
        }

        foreach (var (index, c) in _committed)
        {
            if (c.CommitTerm < term && index >= view.FloorIndex && view.Term(index) != c.Term)
            {
                Fail("leader completeness", $"leader {peer.Id} of term {term} lacks entry {index}/{c.Term}, committed by term {c.CommitTerm}");
            }
        }

        _tracks[peer.Id] = track;
    }

    /// <summary>After a Ready's writes are durable, before its messages go out.</summary>
    public void AfterPersist(SimPeer peer, Ready ready)
    {
        var hs = peer.DurableHardState;
        var floor = peer.Log.FirstIndex() - 1;
        for (var i = Math.Max(peer.CommitRecorded + 1, floor); i <= hs.Commit; i++)
        {
            RecordCommitted(peer, i, peer.Log.Term(i), hs.Term);
        }

        peer.CommitRecorded = Math.Max(peer.CommitRecorded, hs.Commit);
    }

    /// <summary>Messages about to go out: what they claim about this peer's term, vote and log must already be on its disk.</summary>
    public void BeforeSend(SimPeer peer, IEnumerable<Message> messages)
    {
        var hs = peer.DurableHardState;
        foreach (var m in messages)
        {
            var futureTerm = m.Type is MessageType.PreVote or MessageType.PreVoteResponse or MessageType.Propose or MessageType.ReadIndex or MessageType.TransferLeader;
            if (!futureTerm && m.Term > hs.Term)
            {
                Fail("term durable before sent", $"peer {peer.Id} sends {m.Type} in term {m.Term}, but its disk says term {hs.Term}");
            }

            if (m.Type == MessageType.VoteResponse && !m.Reject && (hs.Term < m.Term || (hs.Term == m.Term && hs.Vote != m.To)))
            {
                Fail("vote durable before sent", $"peer {peer.Id} grants its vote to {m.To} in term {m.Term}, but its disk says term {hs.Term} vote {hs.Vote}");
            }

            if (m.Type == MessageType.VoteResponse && !m.Reject)
            {
                if (_votes.TryGetValue((peer.Id, m.Term), out var earlier) && earlier != m.To)
                {
                    Fail("one vote per term", $"peer {peer.Id} grants term {m.Term} to {m.To}, having granted it to {earlier} before");
                }

                _votes[(peer.Id, m.Term)] = m.To;
            }

            if (m.Type == MessageType.AppendResponse && !m.Reject && m.Index > peer.Log.LastIndex())
            {
                Fail("append durable before acknowledged", $"peer {peer.Id} acknowledges up to {m.Index} but its disk ends at {peer.Log.LastIndex()}");
            }
        }
    }

    private void RecordCommitted(SimPeer peer, ulong index, ulong term, ulong commitTerm)
    {
        if (_committed.TryGetValue(index, out var known))
        {
            if (known.Term != term)
            {
                Fail("state machine safety", $"peer {peer.Id} commits {index}/{term}, but {index}/{known.Term} was committed before");
            }

            return;
        }

        _committed[index] = (term, commitTerm);
        HighestCommitted = Math.Max(HighestCommitted, index);
        foreach (var (leader, track) in _tracks)
        {
            if (commitTerm < track.Term && index >= track.Base && track.TermAt(index) != term)
            {
                Fail("leader completeness", $"leader {leader} of term {track.Term} lacks entry {index}/{term}, committed by term {commitTerm}");
            }
        }
    }

    /// <summary>An entry the driver is about to apply to <paramref name="peer"/>'s state machine.</summary>
    public void BeforeApply(SimPeer peer, Entry entry, bool asyncWrites)
    {
        if (entry.Index != peer.Sm.Applied + 1)
        {
            Fail("apply in order", $"peer {peer.Id} is handed entry {entry.Index} to apply after {peer.Sm.Applied}");
        }

        if (!asyncWrites && entry.Index > peer.DurableHardState.Commit)
        {
            Fail("apply only durable commits", $"peer {peer.Id} applies {entry.Index} past its durable commit {peer.DurableHardState.Commit}");
        }

        // With asynchronous writes the commit index reaches the disk with a later write (Raft needs
        // no durable commit index; etcd's is not either), but an entry is applied only once it is
        // in this peer's own log on disk, as that very entry.
        if (asyncWrites && (entry.Index > peer.Log.LastIndex()
            || (entry.Index >= peer.Log.FirstIndex() && peer.Log.Term(entry.Index) != entry.Term)))
        {
            Fail("apply only written entries", $"peer {peer.Id} applies {entry.Index}/{entry.Term}, which its disk [{peer.Log.FirstIndex()}..{peer.Log.LastIndex()}] does not hold");
        }

        if (_committed.TryGetValue(entry.Index, out var c))
        {
            if (c.Term != entry.Term)
            {
                Fail("state machine safety", $"peer {peer.Id} applies {entry.Index}/{entry.Term}, but {entry.Index}/{c.Term} was committed");
            }
        }
        else
        {
            RecordCommitted(peer, entry.Index, entry.Term, peer.DurableHardState.Term);
        }
    }

    public void AfterApply(SimPeer peer, Entry entry)
    {
        CheckDigest(peer, entry.Index, peer.Sm.Digest, "applied");
        if (_ackedByIndex.TryGetValue(entry.Index, out var ops))
        {
            foreach (var op in ops)
            {
                if (!peer.Sm.HasApplied(op))
                {
                    Fail("acknowledged write lost", $"peer {peer.Id} applied index {entry.Index} without write {op}, acknowledged there");
                }
            }
        }
    }

    /// <summary>A state machine rebuilt from a snapshot (received, or from disk at restart).</summary>
    public void AfterRestore(SimPeer peer, Snapshot snapshot)
    {
        var index = snapshot.Metadata.Index;
        CheckDigest(peer, index, peer.Sm.Digest, "restored from a snapshot");
        foreach (var (at, ops) in _ackedByIndex)
        {
            if (at > index)
            {
                break;
            }

            foreach (var op in ops)
            {
                if (!peer.Sm.HasApplied(op))
                {
                    Fail("acknowledged write lost", $"peer {peer.Id} restored a snapshot at {index} without write {op}, acknowledged at {at}");
                }
            }
        }
    }

    /// <summary>A client was told its write is done: it was applied at <paramref name="index"/>.</summary>
    public void Acknowledged(long opId, ulong index, IEnumerable<SimPeer> peers)
    {
        _ackedIndex[opId] = index;
        if (!_ackedByIndex.TryGetValue(index, out var list))
        {
            list = [];
            _ackedByIndex[index] = list;
        }

        list.Add(opId);
        foreach (var p in peers)
        {
            if (p.IsUp && p.Sm.Applied >= index && !p.Sm.HasApplied(opId))
            {
                Fail("acknowledged write lost", $"write {opId} acknowledged at {index}, but peer {p.Id} applied {p.Sm.Applied} without it");
            }
        }
    }

    /// <summary>A crashed or retired peer leads nothing any more.</summary>
    public void Forget(SimPeer peer) => _tracks.Remove(peer.Id);

    public ulong? CommittedTerm(ulong index) => _committed.TryGetValue(index, out var c) ? c.Term : null;

    private void CheckDigest(SimPeer peer, ulong index, ulong digest, string how)
    {
        if (_digestAt.TryGetValue(index, out var known))
        {
            if (known != digest)
            {
                Fail("state machine safety", $"peer {peer.Id} {how} at {index} has state digest {digest:x16}, another peer had {known:x16}");
            }
        }
        else
        {
            _digestAt[index] = digest;
        }
    }

    private static ulong Hash(byte[] data)
    {
        var h = 14695981039346656037;
        foreach (var b in data)
        {
            h = (h ^ b) * 1099511628211;
        }

        return h ^ (ulong)data.Length;
    }
}
