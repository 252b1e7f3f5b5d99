using MessagePack;

namespace ProtoSwarm.Raft;

public sealed partial class RaftNode
{
    /// <summary>
    /// Applies a committed ConfChange entry's change; call it while applying that entry, on every
    /// peer. Returns the new membership (to store with the next snapshot). A leader that is no
    /// longer a voter afterwards tells the others the commit index and steps down.
    /// </summary>
    public ConfState ApplyConfChange(ConfChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        var lastIndex = _log.LastIndex();
        var added = change.Type switch
        {
            ConfChangeType.AddVoter => _tracker.AddVoter(change.NodeId, lastIndex),
            ConfChangeType.AddLearner => _tracker.AddLearner(change.NodeId, lastIndex),
            ConfChangeType.RemoveVoter => RemoveMember(change.NodeId),
            _ => throw new ArgumentException($"unknown conf change type {change.Type}", nameof(change)),
        };

        if (_role != StateRole.Leader)
        {
            return _tracker.ConfState;
        }

        if (_leadTransferee != 0 && !_tracker.IsVoter(_leadTransferee))
        {
            AbortLeaderTransfer();
        }

        // A smaller quorum may commit more; a new member needs its first probe.
        if (_tracker.IsVoter(Id) && MaybeCommit())
        {
            BroadcastAppend();
        }
        else if (added && change.NodeId != Id)
        {
            SendAppend(change.NodeId);
        }

        if (!_tracker.IsVoter(Id))
        {
            // Removed or demoted: let the others learn that the change committed, then stop
            // leading. One of them times out and takes over under the new membership.
            BroadcastAppend();
            BecomeFollower(_term, 0);
        }

        return _tracker.ConfState;
    }

    private bool RemoveMember(ulong id)
    {
        _tracker.Remove(id);
        return false;
    }

    /// <summary>One at a time: the previous change is applied, and this leader's term has a committed entry.</summary>
    private bool CanProposeConfChange() =>
        _pendingConfIndex <= _log.Applied && CommittedEntryInCurrentTerm && _leadTransferee == 0;

    private bool ChangesSomething(ConfChange change) => change.Type switch
    {
        ConfChangeType.AddVoter => !_tracker.IsVoter(change.NodeId),
        ConfChangeType.AddLearner => !_tracker.IsLearner(change.NodeId)
            && !(_tracker.IsVoter(change.NodeId) && _tracker.Voters.Count == 1),
        ConfChangeType.RemoveVoter => (_tracker.IsVoter(change.NodeId) && _tracker.Voters.Count > 1)
            || _tracker.IsLearner(change.NodeId),
        _ => false,
    };

    /// <summary>
    /// --force-new-cluster: this peer restarts as the only voter, keeping its committed log. The
    /// uncommitted suffix is dropped (a quorum never saw it), and ConfChange entries that remove
    /// every other member (and make this peer a voter) are appended and committed at once, in this
    /// peer's current term. The caller persists and applies them like any Ready: once applied, this
    /// peer is a one-voter cluster and elects itself at its next election timeout. The removals are
    /// in the log, so a later restart (without the flag) keeps the new membership.
    /// </summary>
    private void ForceNewCluster(ConfState snapshotConfState)
    {
        if (_term == 0)
        {
            throw new InvalidOperationException("force-new-cluster needs a peer that has been part of a cluster");
        }

        var members = MembersAfterCommitted(snapshotConfState);
        var changes = new List<ConfChange>();
        if (!members.Voters.Contains(Id))
        {
            changes.Add(new ConfChange(ConfChangeType.AddVoter, Id, string.Empty));
        }

        changes.AddRange(members.Voters.Concat(members.Learners)
            .Where(id => id != Id)
            .Order()
            .Select(id => new ConfChange(ConfChangeType.RemoveVoter, id, string.Empty)));

        var commit = _log.Committed;
        var entries = changes
            .Select((c, i) => new Entry(commit + 1 + (ulong)i, _term, EntryType.ConfChange, c.ToBytes()))
            .ToList();
        if (entries.Count == 0)
        {
            return;
        }

        _log.Append(entries);
        _log.CommitTo(entries[^1].Index);
    }

    /// <summary>The membership once every committed entry is applied: the given one plus committed ConfChanges after it.</summary>
    private ConfState MembersAfterCommitted(ConfState confState)
    {
        var voters = new SortedSet<ulong>(confState.Voters.IsDefault ? [] : confState.Voters);
        var learners = new SortedSet<ulong>(confState.Learners.IsDefault ? [] : confState.Learners);
        var lo = Math.Max(_log.Applied + 1, _log.FirstIndex());
        if (lo <= _log.Committed)
        {
            foreach (var entry in _log.Slice(lo, _log.Committed + 1, ulong.MaxValue).Where(e => e.Type == EntryType.ConfChange))
            {
                var change = ConfChange.FromBytes(entry.Data);
                switch (change.Type)
                {
                    case ConfChangeType.AddVoter:
                        learners.Remove(change.NodeId);
                        voters.Add(change.NodeId);
                        break;
                    case ConfChangeType.AddLearner:
                        voters.Remove(change.NodeId);
                        learners.Add(change.NodeId);
                        break;
                    case ConfChangeType.RemoveVoter:
                        voters.Remove(change.NodeId);
                        learners.Remove(change.NodeId);
                        break;
                }
            }
        }

        return new ConfState([.. voters], [.. learners]);
    }
}

public sealed partial record ConfChange
{
    // The formatter generated at build time (ProtoSwarm.Contracts.Generator), not MessagePack's emitting resolver;
    // the entry comes from the leader, so the hardening of untrusted data is on.
    private static readonly MessagePackSerializerOptions Options = new MessagePackSerializerOptions(ContractFormatters.GeneratedContractResolver.Instance)
        .WithSecurity(MessagePackSecurity.UntrustedData);

    public byte[] ToBytes() => MessagePackSerializer.Serialize(this, Options);

    /// <summary>Decodes the Data of a ConfChange entry.</summary>
    public static ConfChange FromBytes(byte[] data) => MessagePackSerializer.Deserialize<ConfChange>(data, Options);
}
