using System.Collections.Immutable;

namespace ProtoSwarm.Raft;

public sealed partial class RaftNode
{
    /// <summary>One logical clock tick: drives election timeouts, heartbeats and check-quorum.</summary>
    public void Tick()
    {
        if (_role == StateRole.Leader)
        {
            TickHeartbeat();
        }
        else
        {
            TickElection();
        }
    }

    /// <summary>
    /// Steps a message from a peer (or a forwarded Propose/ReadIndex/TransferLeader). Local-only
    /// types (Hup, Beat, SnapStatus, Unreachable) are ignored here: use Campaign, Tick,
    /// ReportSnapshot and ReportUnreachable. Responses from peers outside the membership are dropped.
    /// </summary>
    public void Step(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Type is MessageType.Hup or MessageType.Beat or MessageType.SnapStatus or MessageType.Unreachable)
        {
            return;
        }

        if (IsResponse(message.Type) && !_tracker.Progress.ContainsKey(message.From))
        {
            return;
        }

        StepMessage(message);
    }

    /// <summary>
    /// Proposes an application command. True if this leader appended it or a follower forwarded it
    /// to a known leader (which may still lose it); false when there is no leader, a leadership
    /// transfer is under way, or this leader is no longer a member.
    /// </summary>
    public bool Propose(byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return ProposeEntries(NewMessage(MessageType.Propose, 0) with { Entries = [new Entry(0, 0, EntryType.Normal, data)] });
    }

    /// <summary>
    /// Proposes several application commands as one Propose: the leader appends them together and
    /// sends them to each follower in one append (etcd's MsgProp with many entries). True and
    /// false as for <see cref="Propose(byte[])"/>, for all of them.
    /// </summary>
    public bool Propose(IReadOnlyList<byte[]> data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var entries = ImmutableArray.CreateBuilder<Entry>(data.Count);
        foreach (var one in data)
        {
            ArgumentNullException.ThrowIfNull(one);
            entries.Add(new Entry(0, 0, EntryType.Normal, one));
        }

        return ProposeEntries(NewMessage(MessageType.Propose, 0) with { Entries = entries.MoveToImmutable() });
    }

    /// <summary>
    /// Proposes a membership change (leader only). False when not leader; when a change is already
    /// pending (appended and not yet applied here); before this leader has committed an entry of
    /// its own term; during a leadership transfer; or when the change would do nothing or remove
    /// the last voter.
    /// </summary>
    public bool ProposeConfChange(ConfChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        if (_role != StateRole.Leader || !CanProposeConfChange() || !ChangesSomething(change))
        {
            return false;
        }

        var entry = new Entry(0, 0, EntryType.ConfChange, change.ToBytes());
        return ProposeEntries(NewMessage(MessageType.Propose, 0) with { Entries = [entry] });
    }

    /// <summary>Asks the leader to hand over to <paramref name="to"/>; a follower forwards the request.</summary>
    public void TransferLeadership(ulong to) => StepMessage(Message.Local(MessageType.TransferLeader, to));

    /// <summary>
    /// Asks for a linearizable read point: a later Ready carries ReadState(index, requestContext)
    /// once the leader has confirmed it still leads. The context must be non-empty and unique per
    /// request. Dropped silently when there is no leader; the caller retries on its own timeout.
    /// </summary>
    public void ReadIndex(byte[] requestContext)
    {
        ArgumentNullException.ThrowIfNull(requestContext);
        if (requestContext.Length == 0)
        {
            throw new ArgumentException("a read needs a non-empty context to match its ReadState", nameof(requestContext));
        }

        StepMessage(NewMessage(MessageType.ReadIndex, 0) with { Context = requestContext });
    }

    /// <summary>Starts an election now (with a pre-vote first when enabled).</summary>
    public void Campaign() => Hup(_config.PreVote ? CampaignKind.PreElection : CampaignKind.Election);

    /// <summary>The leader could not reach <paramref name="id"/>: stop pipelining to it and probe.</summary>
    public void ReportUnreachable(ulong id) => StepMessage(Message.Local(MessageType.Unreachable, id));

    /// <summary>The snapshot sent to <paramref name="id"/> was installed (ok) or failed to arrive.</summary>
    public void ReportSnapshot(ulong id, bool ok) =>
        StepMessage(Message.Local(MessageType.SnapStatus, id) with { Reject = !ok });

    /// <summary>
    /// Whether GetReady has anything to hand out. One list for both modes: synchronously nothing is ever
    /// accepted as in progress (every unstable entry and snapshot is still to write) and nothing waits for
    /// a write, and committed entries may be applied after the same Ready's write, so unstable ones count.
    /// </summary>
    public bool HasReady() =>
        (_async || !_readyOutstanding)
        && (new SoftState(_lead, _role) != _prevSoftState
            || CurrentHardState() != _prevHardState
            || _log.SnapshotToWrite is not null
            || _log.HasEntriesToWrite
            || _messages.Count > 0
            || _messagesAfterWrite.Count > 0
            || _readStates.Count > 0
            || _log.HasNextCommittedEntries(allowUnstable: !_async));

    /// <summary>
    /// Everything to do now (see <see cref="Ready"/>). Call <see cref="Advance"/> with it before the
    /// next GetReady; until then HasReady is false.
    /// </summary>
    public Ready GetReady()
    {
        if (_async)
        {
            return GetReadyAsync();
        }

        if (_readyOutstanding)
        {
            throw new InvalidOperationException("the previous Ready has not been advanced");
        }

        var soft = new SoftState(_lead, _role);
        var hard = CurrentHardState();
        var ready = new Ready(
            soft != _prevSoftState ? soft : null,
            hard != _prevHardState ? hard : null,
            _log.UnstableEntries(),
            _log.PendingSnapshot,
            _log.NextCommittedEntries(),
            [.. _messages],
            [.. _readStates]);
        _messages.Clear();
        _readStates.Clear();
        _prevSoftState = soft;
        _prevHardState = hard;
        _readyOutstanding = true;
        return ready;
    }

    private Ready GetReadyAsync()
    {
        var soft = new SoftState(_lead, _role);
        var hard = CurrentHardState();
        var snapshot = _log.SnapshotToWrite;
        var committed = _log.NextCommittedEntries(allowUnstable: false);
        ImmutableArray<Message> now;
        ImmutableArray<Message> afterWrite;
        if (hard.Term != _durableTerm || hard.Vote != _durableVote || _log.PendingSnapshot is not null)
        {
            // A new term or vote, or a snapshot, not yet written: everything said now rests on it.
            now = [];
            afterWrite = [.. _messagesAfterWrite, .. _messages];
        }
        else
        {
            now = [.. _messages];
            afterWrite = [.. _messagesAfterWrite];
        }

        var ready = new Ready(
            soft != _prevSoftState ? soft : null,
            hard != _prevHardState ? hard : null,
            _log.EntriesToWrite(),
            snapshot,
            committed,
            now,
            [.. _readStates])
        {
            MessagesAfterWrite = afterWrite,
        };
        _messages.Clear();
        _messagesAfterWrite.Clear();
        _readStates.Clear();
        _prevSoftState = soft;
        _prevHardState = hard;
        _log.AcceptInProgress();
        if (!committed.IsDefaultOrEmpty)
        {
            _log.AcceptApplying(committed[^1].Index);
        }

        if (ready.HasWrite)
        {
            _writes.Enqueue((ready, _log.Generation));
        }

        return ready;
    }

    /// <summary>
    /// Asynchronous writes: <paramref name="ready"/>'s snapshot, entries and hard state are durable
    /// (and a snapshot installed in the state machine). Readies with <see cref="Ready.HasWrite"/> are
    /// reported in the order they were handed out. A leader now counts the written entries as its own
    /// towards a majority.
    /// </summary>
    public void ReportPersisted(Ready ready)
    {
        ArgumentNullException.ThrowIfNull(ready);
        if (!_async || _writes.Count == 0 || !ReferenceEquals(_writes.Peek().Ready, ready))
        {
            throw new InvalidOperationException("ReportPersisted: not the oldest Ready whose write is outstanding");
        }

        var (_, generation) = _writes.Dequeue();
        if (ready.Snapshot is { } snapshot)
        {
            _log.StableSnapTo(snapshot.Metadata.Index);
            if (_log.PendingSnapshot is null && snapshot.Metadata.Index > _log.Applied)
            {
                _log.AppliedTo(snapshot.Metadata.Index);
            }
        }

        if (!ready.Entries.IsDefaultOrEmpty && generation == _log.Generation)
        {
            var last = ready.Entries[^1];
            _log.StableTo(last.Index, last.Term);
        }

        if (ready.HardState is { } hard)
        {
            _durableTerm = hard.Term;
            _durableVote = hard.Vote;
        }

        if (_role == StateRole.Leader && _tracker.Progress.TryGetValue(Id, out var self)
            && _log.StableLastIndex() is { } stable && self.MaybeUpdate(stable) && MaybeCommit())
        {
            BroadcastAppend();
        }
    }

    /// <summary>Asynchronous writes: <paramref name="ready"/>'s committed entries are applied.</summary>
    public void ReportApplied(Ready ready)
    {
        ArgumentNullException.ThrowIfNull(ready);
        if (!_async)
        {
            throw new InvalidOperationException("ReportApplied is for asynchronous writes; use Advance");
        }

        if (!ready.CommittedEntries.IsDefaultOrEmpty)
        {
            _log.AppliedTo(ready.CommittedEntries[^1].Index);
        }
    }

    /// <summary>The Ready was persisted, sent and applied: entries are stable and applied up to its end.</summary>
    public void Advance(Ready ready)
    {
        ArgumentNullException.ThrowIfNull(ready);
        if (_async)
        {
            throw new InvalidOperationException("with asynchronous writes, use ReportPersisted and ReportApplied");
        }

        if (!_readyOutstanding)
        {
            throw new InvalidOperationException("Advance without an outstanding Ready");
        }

        if (!ready.Entries.IsDefaultOrEmpty)
        {
            var last = ready.Entries[^1];
            _log.StableTo(last.Index, last.Term);
        }

        if (ready.Snapshot is { } snapshot)
        {
            _log.StableSnapTo(snapshot.Metadata.Index);
            _log.AppliedTo(snapshot.Metadata.Index);
        }

        if (!ready.CommittedEntries.IsDefaultOrEmpty)
        {
            _log.AppliedTo(ready.CommittedEntries[^1].Index);
        }

        _readyOutstanding = false;
    }

    public RaftStatus Status
    {
        get
        {
            var progress = _role != StateRole.Leader
                ? ImmutableDictionary<ulong, PeerProgress>.Empty
                : _tracker.Progress.ToImmutableDictionary(
                    p => p.Key,
                    p => new PeerProgress(p.Value.Match, p.Value.Next, p.Value.RecentActive, p.Value.IsPaused, p.Value.IsLearner));
            return new RaftStatus(Id, _term, _vote, _lead, _role, _log.Committed, _log.Applied, _log.LastIndex(), _tracker.ConfState, progress);
        }
    }

    /// <summary>
    /// Who leads, the term, the members and the commit index: <see cref="Status"/> without the
    /// leader's copy of every peer's progress, cheap enough to read after every Ready.
    /// </summary>
    public (ulong Lead, ulong Term, ConfState ConfState, ulong Commit) Summary => (_lead, _term, _tracker.ConfState, _log.Committed);

    private HardState CurrentHardState() => new(_term, _vote, _log.Committed);

    private static bool IsResponse(MessageType type) =>
        type is MessageType.AppendResponse or MessageType.VoteResponse or MessageType.PreVoteResponse
            or MessageType.HeartbeatResponse or MessageType.Unreachable;
}
