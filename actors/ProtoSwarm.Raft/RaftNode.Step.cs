namespace ProtoSwarm.Raft;

public sealed partial class RaftNode
{
    private void StepMessage(Message m)
    {
        if (m.Term > _term && !StepHigherTerm(m))
        {
            return;
        }

        if (m.Term != 0 && m.Term < _term)
        {
            StepLowerTerm(m);
            return;
        }

        switch (m.Type)
        {
            case MessageType.Hup:
                Hup(_config.PreVote ? CampaignKind.PreElection : CampaignKind.Election);
                return;
            case MessageType.Vote or MessageType.PreVote:
                HandleVoteRequest(m);
                return;
            case MessageType.Propose:
                ProposeEntries(m);
                return;
        }

        switch (_role)
        {
            case StateRole.Leader:
                StepLeader(m);
                break;
            case StateRole.Follower:
                StepFollower(m);
                break;
            default:
                StepCandidate(m);
                break;
        }
    }

    /// <summary>A message from a later term: follow it, unless it is a vote inside a leader lease or a pre-vote. False to drop it.</summary>
    private bool StepHigherTerm(Message m)
    {
        if (m.Type is MessageType.Vote or MessageType.PreVote)
        {
            var force = m.Context is not null && m.Context.AsSpan().SequenceEqual(CampaignTransferContext);
            var inLease = _config.CheckQuorum && _lead != 0 && _electionElapsed < _config.ElectionTick;
            if (!force && inLease)
            {
                // We heard from a leader within an election timeout: a disruptive or stale candidate.
                return false;
            }
        }

        switch (m.Type)
        {
            case MessageType.PreVote:
                // A pre-vote never changes our term.
                break;
            case MessageType.PreVoteResponse when !m.Reject:
                // The future term a pre-vote was granted in; the candidate moves there only on winning.
                break;
            case MessageType.Append or MessageType.Heartbeat or MessageType.Snapshot:
                BecomeFollower(m.Term, m.From);
                break;
            default:
                BecomeFollower(m.Term, 0);
                break;
        }

        return true;
    }

    private void StepLowerTerm(Message m)
    {
        if ((_config.CheckQuorum || _config.PreVote) && m.Type is MessageType.Heartbeat or MessageType.Append)
        {
            // A leader of an older term: answer with our term so it steps down. With pre-vote and
            // check-quorum our term only rises with a majority, so this is the stale side.
            Send(NewMessage(MessageType.AppendResponse, m.From));
        }
        else if (m.Type == MessageType.PreVote)
        {
            Send(NewMessage(MessageType.PreVoteResponse, m.From) with { Term = _term, Reject = true });
        }
    }

    private void HandleVoteRequest(Message m)
    {
        var canVote = _vote == m.From
            || (_vote == 0 && _lead == 0)
            || (m.Type == MessageType.PreVote && m.Term > _term);
        var responseType = m.Type == MessageType.Vote ? MessageType.VoteResponse : MessageType.PreVoteResponse;
        if (canVote && _log.IsUpToDate(m.Index, m.LogTerm))
        {
            // Granted in the term asked about: for a pre-vote, the term the candidate would take.
            Send(NewMessage(responseType, m.From) with { Term = m.Term });
            if (m.Type == MessageType.Vote)
            {
                _electionElapsed = 0;
                _vote = m.From;
            }
        }
        else
        {
            Send(NewMessage(responseType, m.From) with { Term = _term, Reject = true });
        }
    }

    private void StepLeader(Message m)
    {
        switch (m.Type)
        {
            case MessageType.Beat:
                BroadcastHeartbeat();
                return;
            case MessageType.ReadIndex:
                LeaderReadIndex(m);
                return;
            case MessageType.TransferLeader:
                LeaderTransfer(m.From);
                return;
        }

        if (!_tracker.Progress.TryGetValue(m.From, out var pr))
        {
            return;
        }

        switch (m.Type)
        {
            case MessageType.AppendResponse:
                HandleAppendResponse(m, pr);
                break;
            case MessageType.HeartbeatResponse:
                HandleHeartbeatResponse(m, pr);
                break;
            case MessageType.SnapStatus:
                if (pr.State == ProgressState.Snapshot)
                {
                    if (m.Reject)
                    {
                        pr.PendingSnapshot = 0;
                    }

                    pr.BecomeProbe();
                    // Wait for the next heartbeat answer before probing, so the follower can settle.
                    pr.ProbeSent = true;
                }

                break;
            case MessageType.Unreachable:
                if (pr.State == ProgressState.Replicate)
                {
                    pr.BecomeProbe();
                }

                break;
        }
    }

    private void StepFollower(Message m)
    {
        switch (m.Type)
        {
            case MessageType.Append:
                _electionElapsed = 0;
                _lead = m.From;
                HandleAppend(m);
                break;
            case MessageType.Heartbeat:
                _electionElapsed = 0;
                _lead = m.From;
                HandleHeartbeat(m);
                break;
            case MessageType.Snapshot:
                _electionElapsed = 0;
                _lead = m.From;
                HandleSnapshot(m);
                break;
            case MessageType.TransferLeader or MessageType.ReadIndex:
                if (_lead != 0)
                {
                    Send(m with { To = _lead });
                }

                break;
            case MessageType.TimeoutNow:
                Hup(CampaignKind.Transfer);
                break;
            case MessageType.ReadIndexResponse:
                _readStates.Add(new ReadState(m.Index, m.Context ?? []));
                break;
        }
    }

    private void StepCandidate(Message m)
    {
        var voteResponse = _role == StateRole.PreCandidate ? MessageType.PreVoteResponse : MessageType.VoteResponse;
        switch (m.Type)
        {
            case MessageType.Append:
                BecomeFollower(m.Term, m.From);
                HandleAppend(m);
                break;
            case MessageType.Heartbeat:
                BecomeFollower(m.Term, m.From);
                HandleHeartbeat(m);
                break;
            case MessageType.Snapshot:
                BecomeFollower(m.Term, m.From);
                HandleSnapshot(m);
                break;
            case var type when type == voteResponse:
                switch (Poll(m.From, !m.Reject))
                {
                    case VoteResult.Won when _role == StateRole.PreCandidate:
                        StartCampaign(CampaignKind.Election);
                        break;
                    case VoteResult.Won:
                        BecomeLeader();
                        BroadcastAppend();
                        break;
                    case VoteResult.Lost:
                        BecomeFollower(_term, 0);
                        break;
                }

                break;
        }
    }
}
