namespace ProtoSwarm.Raft;

public sealed partial class RaftNode
{
    private enum CampaignKind
    {
        PreElection,
        Election,

        /// <summary>Asked by the leader (TimeoutNow): no pre-vote, and voters ignore their lease.</summary>
        Transfer,
    }

    /// <summary>A voter of the current membership, with no snapshot waiting to be applied.</summary>
    private bool Promotable => _tracker.IsVoter(Id) && _log.PendingSnapshot is null;

    private void TickElection()
    {
        _electionElapsed++;
        if (Promotable && _electionElapsed >= _randomizedElectionTimeout)
        {
            _electionElapsed = 0;
            Hup(_config.PreVote ? CampaignKind.PreElection : CampaignKind.Election);
        }
    }

    private void TickHeartbeat()
    {
        _heartbeatElapsed++;
        _electionElapsed++;
        foreach (var pr in _tracker.Progress.Values)
        {
            if (pr.State == ProgressState.Snapshot)
            {
                pr.SnapshotTicks++;
            }
        }

        if (_electionElapsed >= _config.ElectionTick)
        {
            _electionElapsed = 0;
            if (_config.CheckQuorum)
            {
                if (!_tracker.QuorumActive(Id))
                {
                    BecomeFollower(_term, 0);
                    return;
                }

                _tracker.StartQuorumRound(Id);
            }

            if (_leadTransferee != 0)
            {
                // The transferee did not take over within an election timeout: take proposals again.
                AbortLeaderTransfer();
            }
        }

        if (_heartbeatElapsed >= _config.HeartbeatTick)
        {
            _heartbeatElapsed = 0;
            BroadcastHeartbeat();
        }
    }

    private void Hup(CampaignKind kind)
    {
        if (_role == StateRole.Leader || !Promotable || HasUnappliedConfChange())
        {
            // Campaigning under a membership the log has already changed could elect with the wrong quorum.
            return;
        }

        StartCampaign(kind);
    }

    private bool HasUnappliedConfChange()
    {
        if (_log.Committed <= _log.Applied)
        {
            return false;
        }

        var lo = Math.Max(_log.Applied + 1, _log.FirstIndex());
        return lo <= _log.Committed
            && _log.Slice(lo, _log.Committed + 1, ulong.MaxValue).Any(e => e.Type == EntryType.ConfChange);
    }

    private void StartCampaign(CampaignKind kind)
    {
        ulong term;
        MessageType type;
        if (kind == CampaignKind.PreElection)
        {
            BecomePreCandidate();
            type = MessageType.PreVote;
            term = _term + 1;
        }
        else
        {
            BecomeCandidate();
            type = MessageType.Vote;
            term = _term;
        }

        if (Poll(Id, granted: true) == VoteResult.Won)
        {
            // A single voter wins on its own vote.
            if (kind == CampaignKind.PreElection)
            {
                StartCampaign(CampaignKind.Election);
            }
            else
            {
                BecomeLeader();
            }

            return;
        }

        var lastIndex = _log.LastIndex();
        var lastTerm = _log.LastTerm();
        foreach (var id in _tracker.Voters)
        {
            if (id == Id)
            {
                continue;
            }

            Send(NewMessage(type, id) with
            {
                Term = term,
                Index = lastIndex,
                LogTerm = lastTerm,
                Context = kind == CampaignKind.Transfer ? CampaignTransferContext : null,
            });
        }
    }

    private VoteResult Poll(ulong from, bool granted)
    {
        _tracker.RecordVote(from, granted);
        return _tracker.TallyVotes();
    }

    private void Reset(ulong term)
    {
        if (_term != term)
        {
            _term = term;
            _vote = 0;
            DropStaleAppendAnswers(term);
        }

        _lead = 0;
        _electionElapsed = 0;
        _heartbeatElapsed = 0;
        ResetRandomizedElectionTimeout();
        AbortLeaderTransfer();
        _tracker.ResetVotes();
        var lastIndex = _log.LastIndex();
        foreach (var (id, pr) in _tracker.Progress)
        {
            pr.Match = id == Id ? lastIndex : 0;
            pr.Next = lastIndex + 1;
            pr.BecomeProbe();
            pr.Next = lastIndex + 1;
            pr.RecentActive = false;
        }

        _pendingConfIndex = 0;
        _readOnly.Clear();
        _pendingReadIndex.Clear();
    }

    /// <summary>
    /// Answers to an earlier term's appends not yet handed out go unsent: a later term's leader may
    /// replace those entries before the write that would hold them, and an answer must never speak
    /// for entries the peer's disk will not have. The earlier leader is deposed; it loses nothing a
    /// lossy network could not take from it.
    /// </summary>
    private void DropStaleAppendAnswers(ulong term)
    {
        _messages.RemoveAll(m => m.Type == MessageType.AppendResponse && m.Term < term);
        _messagesAfterWrite.RemoveAll(m => m.Type == MessageType.AppendResponse && m.Term < term);
    }

    private void BecomeFollower(ulong term, ulong lead)
    {
        Reset(term);
        _lead = lead;
        _role = StateRole.Follower;
    }

    private void BecomePreCandidate()
    {
        if (_role == StateRole.Leader)
        {
            throw new InvalidOperationException("a leader does not become a pre-candidate");
        }

        // Neither term nor vote changes: a pre-election that fails leaves no trace.
        _tracker.ResetVotes();
        _lead = 0;
        _role = StateRole.PreCandidate;
    }

    private void BecomeCandidate()
    {
        if (_role == StateRole.Leader)
        {
            throw new InvalidOperationException("a leader does not become a candidate");
        }

        Reset(_term + 1);
        _vote = Id;
        _role = StateRole.Candidate;
    }

    private void BecomeLeader()
    {
        if (_role == StateRole.Follower)
        {
            throw new InvalidOperationException("a follower does not become leader without an election");
        }

        Reset(_term);
        _lead = Id;
        _role = StateRole.Leader;
        if (_tracker.Progress.TryGetValue(Id, out var self))
        {
            self.BecomeReplicate();
            self.RecentActive = true;
            if (_async)
            {
                // Only what is written counts as ours towards a majority.
                self.Match = _log.StableLastIndex() ?? 0;
            }
        }

        // No membership change until everything before our term is applied here (it may hold one).
        _pendingConfIndex = _log.LastIndex();

        // An empty entry of our term: committing it commits everything before it (§5.4.2), and
        // until then this leader takes neither reads nor membership changes.
        AppendEntries([new Entry(0, 0, EntryType.Normal, [])]);
    }

    private void LeaderTransfer(ulong to)
    {
        if (!_tracker.Progress.TryGetValue(to, out var pr) || pr.IsLearner)
        {
            return;
        }

        if (_leadTransferee != 0)
        {
            if (_leadTransferee == to)
            {
                return;
            }

            AbortLeaderTransfer();
        }

        if (to == Id)
        {
            return;
        }

        // The transfer must finish within an election timeout, counted from now.
        _electionElapsed = 0;
        _leadTransferee = to;
        if (pr.Match == _log.LastIndex())
        {
            Send(NewMessage(MessageType.TimeoutNow, to));
        }
        else
        {
            SendAppend(to);
        }
    }

    private void AbortLeaderTransfer() => _leadTransferee = 0;
}
