namespace ProtoSwarm.Raft;

public sealed partial class RaftNode
{
    private bool ProposeEntries(Message m)
    {
        if (m.Entries.IsDefaultOrEmpty)
        {
            return false;
        }

        switch (_role)
        {
            case StateRole.Leader:
                break;
            case StateRole.Follower when _lead != 0:
                Send(m with { To = _lead });
                return true;
            default:
                return false;
        }

        if (!_tracker.Progress.ContainsKey(Id) || _leadTransferee != 0)
        {
            // Removed from the membership, or handing over: the next leader takes proposals.
            return false;
        }

        var entries = new List<Entry>(m.Entries.Length);
        foreach (var entry in m.Entries)
        {
            if (entry.Type == EntryType.ConfChange)
            {
                if (!CanProposeConfChange())
                {
                    // A forwarded change that breaks one-at-a-time: keep the slot, drop the change.
                    entries.Add(entry with { Type = EntryType.Normal, Data = [] });
                    continue;
                }

                _pendingConfIndex = _log.LastIndex() + (ulong)entries.Count + 1;
            }

            entries.Add(entry);
        }

        AppendEntries(entries);
        BroadcastAppend();
        return true;
    }

    private void AppendEntries(List<Entry> entries)
    {
        var lastIndex = _log.LastIndex();
        var stamped = new List<Entry>(entries.Count);
        for (var i = 0; i < entries.Count; i++)
        {
            stamped.Add(entries[i] with { Index = lastIndex + 1 + (ulong)i, Term = _term });
        }

        _log.Append(stamped);

        // Written synchronously, the leader's own entries are persisted with the Ready that carries
        // its appends, before any of them is sent, so they count towards the majority right away.
        // Written asynchronously, they count once their write is reported (ReportPersisted).
        if (!_async && _tracker.Progress.TryGetValue(Id, out var self))
        {
            self.MaybeUpdate(_log.LastIndex());
        }

        MaybeCommit();
    }

    /// <summary>Advances the commit index to what a majority holds, if that entry is of our term (§5.4.2).</summary>
    private bool MaybeCommit()
    {
        if (!_log.MaybeCommit(_tracker.Committed(), _term))
        {
            return false;
        }

        ReleasePendingReadIndex();
        return true;
    }

    private bool CommittedEntryInCurrentTerm => _log.TermOrZero(_log.Committed) == _term;

    private void BroadcastAppend()
    {
        foreach (var id in _tracker.Progress.Keys.ToList())
        {
            if (id != Id)
            {
                SendAppend(id);
            }
        }
    }

    private void SendAppend(ulong to) => MaybeSendAppend(to, sendIfEmpty: true);

    /// <summary>
    /// Sends the follower its next entries (or a snapshot when they are compacted away), unless its
    /// progress is paused. With sendIfEmpty false, only when there is something new to send.
    /// </summary>
    private bool MaybeSendAppend(ulong to, bool sendIfEmpty)
    {
        var pr = _tracker.Progress[to];
        if (pr.IsPaused)
        {
            return false;
        }

        var prevIndex = pr.Next - 1;
        List<Entry>? entries = null;
        var haveTerm = _log.TryTerm(prevIndex, out var prevTerm);
        if (haveTerm)
        {
            try
            {
                entries = _log.EntriesFrom(pr.Next, _config.MaxSizePerMessage);
            }
            catch (LogCompactedException)
            {
                entries = null;
            }
        }

        if (entries is null)
        {
            return SendSnapshot(to, pr);
        }

        if (entries.Count == 0 && !sendIfEmpty)
        {
            return false;
        }

        Send(NewMessage(MessageType.Append, to) with
        {
            Index = prevIndex,
            LogTerm = prevTerm,
            Entries = [.. entries],
            Commit = _log.Committed,
        });
        pr.SentEntries(entries.Count, entries.Count > 0 ? entries[^1].Index : prevIndex);
        return true;
    }

    private bool SendSnapshot(ulong to, Progress pr)
    {
        if (!pr.RecentActive)
        {
            // Snapshots are large: only to a follower that answered within the last election timeout.
            return false;
        }

        var snapshot = _log.Snapshot();
        if (snapshot.IsEmpty)
        {
            throw new InvalidOperationException($"entries for {to} are compacted but the log holds no snapshot");
        }

        Send(NewMessage(MessageType.Snapshot, to) with { Snapshot = snapshot });
        pr.BecomeSnapshot(snapshot.Metadata.Index);
        return true;
    }

    private void BroadcastHeartbeat(byte[]? context = null)
    {
        context ??= _readOnly.LastPendingContext;
        foreach (var (id, pr) in _tracker.Progress)
        {
            if (id == Id)
            {
                continue;
            }

            // Never past what the follower is known to hold: it could not commit what it lacks.
            Send(NewMessage(MessageType.Heartbeat, id) with
            {
                Commit = Math.Min(pr.Match, _log.Committed),
                Context = context,
            });
        }
    }

    private void HandleAppend(Message m)
    {
        if (m.Index < _log.Committed)
        {
            Send(NewMessage(MessageType.AppendResponse, m.From) with { Index = _log.Committed });
            return;
        }

        if (_log.MaybeAppend(m.Index, m.LogTerm, m.Commit, m.Entries, out var lastNewIndex))
        {
            Send(NewMessage(MessageType.AppendResponse, m.From) with { Index = lastNewIndex });
            return;
        }

        // Tell the leader where our log might match: the last index at or below its probe whose
        // term is no later than its entry's, so whole terms of divergence are skipped at once.
        var (hintIndex, hintTerm) = _log.FindConflictByTerm(Math.Min(m.Index, _log.LastIndex()), m.LogTerm);
        Send(NewMessage(MessageType.AppendResponse, m.From) with
        {
            Index = m.Index,
            Reject = true,
            RejectHint = hintIndex,
            LogTerm = hintTerm,
        });
    }

    private void HandleHeartbeat(Message m)
    {
        _log.CommitTo(m.Commit);

        // Our commit index rides along: committed entries are in every later leader's log, so it
        // is a safe Match, and it acknowledges a snapshot whose own answer was lost.
        Send(NewMessage(MessageType.HeartbeatResponse, m.From) with { Context = m.Context, Index = _log.Committed });
    }

    private void HandleSnapshot(Message m)
    {
        if (m.Snapshot is { } snapshot && Restore(snapshot))
        {
            Send(NewMessage(MessageType.AppendResponse, m.From) with { Index = _log.LastIndex() });
        }
        else
        {
            Send(NewMessage(MessageType.AppendResponse, m.From) with { Index = _log.Committed });
        }
    }

    /// <summary>Replaces the log with a leader's snapshot; false if we already have what it covers.</summary>
    private bool Restore(Snapshot snapshot)
    {
        var meta = snapshot.Metadata;
        if (meta.Index <= _log.Committed)
        {
            return false;
        }

        if (_role != StateRole.Follower)
        {
            // Only a leader's follower takes snapshots; a leader of this term cannot be sending one to a candidate.
            BecomeFollower(_term + 1, 0);
            return false;
        }

        if (_log.MatchTerm(meta.Index, meta.Term))
        {
            // We hold that entry already: a commit index is all the snapshot tells us.
            _log.CommitTo(meta.Index);
            return false;
        }

        _log.Restore(snapshot);
        _tracker.Reset(meta.ConfState, _log.LastIndex());
        return true;
    }

    private void HandleAppendResponse(Message m, Progress pr)
    {
        pr.RecentActive = true;
        if (m.Reject)
        {
            var nextProbe = m.RejectHint;
            if (m.LogTerm > 0)
            {
                // Skip our entries of terms the follower has no entry of.
                nextProbe = _log.FindConflictByTerm(m.RejectHint, m.LogTerm).Index;
            }

            if (pr.MaybeDecrTo(m.Index, nextProbe))
            {
                if (pr.State == ProgressState.Replicate)
                {
                    pr.BecomeProbe();
                }

                SendAppend(m.From);
            }

            return;
        }

        var wasPaused = pr.IsPaused;
        if (!pr.MaybeUpdate(m.Index) && !(pr.Match == m.Index && pr.State == ProgressState.Probe))
        {
            return;
        }

        switch (pr.State)
        {
            case ProgressState.Probe:
                pr.BecomeReplicate();
                break;
            case ProgressState.Snapshot when pr.Match + 1 >= _log.FirstIndex():
                // The follower installed the snapshot (or caught up otherwise): the log continues from here.
                pr.BecomeProbe();
                pr.BecomeReplicate();
                break;
            case ProgressState.Replicate:
                pr.Inflights.FreeLE(m.Index);
                break;
        }

        if (MaybeCommit())
        {
            BroadcastAppend();
        }
        else if (wasPaused)
        {
            SendAppend(m.From);
        }

        while (MaybeSendAppend(m.From, sendIfEmpty: false))
        {
        }

        if (m.From == _leadTransferee && pr.Match == _log.LastIndex())
        {
            Send(NewMessage(MessageType.TimeoutNow, m.From));
        }
    }

    private void HandleHeartbeatResponse(Message m, Progress pr)
    {
        pr.RecentActive = true;
        pr.ProbeSent = false;
        if (pr.State == ProgressState.Snapshot && m.Index >= pr.PendingSnapshot)
        {
            pr.MaybeUpdate(m.Index);
            pr.BecomeProbe();
        }
        else if (pr.State == ProgressState.Snapshot && pr.SnapshotTicks >= _config.ElectionTick)
        {
            // The follower answers heartbeats, yet an election timeout after the snapshot went out
            // it still lacks it: the snapshot was lost on the way and the transport did not report
            // it (Proto.Remote drops a message to an endpoint that is still connecting). Probe
            // again; the refusal sends a fresh snapshot. Without this a new manager's learner,
            // whose first snapshot was lost, waits for it for ever and is never made a voter.
            pr.PendingSnapshot = 0;
            pr.BecomeProbe();
        }

        if (pr.State == ProgressState.Replicate && pr.Inflights.Full)
        {
            // The follower is alive but the window stays full: some append or its answer was lost.
            // Let one more through; a gap makes the follower refuse it and we fall back to probing.
            pr.Inflights.FreeFirstOne();
        }

        if (pr.Match < _log.LastIndex() || pr.State == ProgressState.Probe)
        {
            SendAppend(m.From);
        }

        if (m.Context is { Length: > 0 } context)
        {
            ConfirmRead(m.From, context);
        }
    }
}
