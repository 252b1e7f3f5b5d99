namespace ProtoSwarm.Raft;

internal enum VoteResult
{
    Pending,
    Won,
    Lost,
}

/// <summary>
/// The membership and what the leader knows of each member (etcd's tracker): voters decide
/// elections and commits by majority, learners only receive the log. Iteration is in id order so
/// that the messages a peer sends come out in the same order on every run.
/// </summary>
internal sealed class ProgressTracker
{
    private readonly int _maxInflight;
    private readonly SortedSet<ulong> _voters = [];
    private readonly SortedSet<ulong> _learners = [];
    private readonly Dictionary<ulong, bool> _votes = [];

    public ProgressTracker(int maxInflight) => _maxInflight = maxInflight;

    public SortedDictionary<ulong, Progress> Progress { get; } = [];

    public IReadOnlyCollection<ulong> Voters => _voters;

    public ConfState ConfState => new([.. _voters], [.. _learners]);

    public int Quorum => (_voters.Count / 2) + 1;

    public bool IsVoter(ulong id) => _voters.Contains(id);

    public bool IsLearner(ulong id) => _learners.Contains(id);

    public bool IsSingleton => _voters.Count == 1;

    /// <summary>Replaces the membership (start-up, snapshot restore); every progress starts over.</summary>
    public void Reset(ConfState confState, ulong lastIndex)
    {
        _voters.Clear();
        _learners.Clear();
        Progress.Clear();
        foreach (var id in confState.Voters.IsDefault ? [] : confState.Voters)
        {
            AddVoter(id, lastIndex);
        }

        foreach (var id in confState.Learners.IsDefault ? [] : confState.Learners)
        {
            AddLearner(id, lastIndex);
        }
    }

    /// <summary>Adds a voter or promotes a learner; true if it was not a member before.</summary>
    public bool AddVoter(ulong id, ulong lastIndex)
    {
        _learners.Remove(id);
        _voters.Add(id);
        if (Progress.TryGetValue(id, out var existing))
        {
            existing.IsLearner = false;
            return false;
        }

        Progress[id] = NewProgress(lastIndex, isLearner: false);
        return true;
    }

    /// <summary>Adds a learner or demotes a voter; true if it was not a member before.</summary>
    public bool AddLearner(ulong id, ulong lastIndex)
    {
        _voters.Remove(id);
        _learners.Add(id);
        if (Progress.TryGetValue(id, out var existing))
        {
            existing.IsLearner = true;
            return false;
        }

        Progress[id] = NewProgress(lastIndex, isLearner: true);
        return true;
    }

    public void Remove(ulong id)
    {
        _voters.Remove(id);
        _learners.Remove(id);
        Progress.Remove(id);
    }

    /// <summary>The highest index a majority of voters have (0 without voters).</summary>
    public ulong Committed()
    {
        if (_voters.Count == 0)
        {
            return 0;
        }

        var matches = _voters.Select(id => Progress[id].Match).OrderByDescending(m => m).ToList();
        return matches[Quorum - 1];
    }

    public void ResetVotes() => _votes.Clear();

    public void RecordVote(ulong id, bool granted) => _votes.TryAdd(id, granted);

    public VoteResult TallyVotes()
    {
        var granted = 0;
        var rejected = 0;
        foreach (var id in _voters)
        {
            if (_votes.TryGetValue(id, out var vote))
            {
                if (vote)
                {
                    granted++;
                }
                else
                {
                    rejected++;
                }
            }
        }

        if (granted >= Quorum)
        {
            return VoteResult.Won;
        }

        return rejected > _voters.Count - Quorum ? VoteResult.Lost : VoteResult.Pending;
    }

    /// <summary>Whether the given set of peers holds a majority of the voters.</summary>
    public bool HasQuorum(IReadOnlySet<ulong> ids) => _voters.Count(ids.Contains) >= Quorum;

    /// <summary>Whether a majority of voters were heard from since the last round (self always counts).</summary>
    public bool QuorumActive(ulong self) =>
        _voters.Count(id => id == self || (Progress.TryGetValue(id, out var pr) && pr.RecentActive)) >= Quorum;

    /// <summary>
    /// Starts a check-quorum round. A peer not heard from during the round that ends (no answer to
    /// an append or a heartbeat for a whole election timeout) goes back to probing, with its probe
    /// held until it answers a heartbeat: the leader stops pipelining appends to it. The transport
    /// is a queue that keeps what it cannot deliver yet, so appends to a peer cut off would
    /// otherwise fill the whole inflight window (up to MaxInflightMessages of MaxSizePerMessage
    /// each) in the leader's memory and arrive in a burst when the link returns; etcd gets the same
    /// from its transport's unreachable reports.
    /// </summary>
    public void StartQuorumRound(ulong self)
    {
        foreach (var (id, pr) in Progress)
        {
            if (id != self && !pr.RecentActive && pr.State == ProgressState.Replicate)
            {
                pr.BecomeProbe();
                pr.ProbeSent = true;
            }

            pr.RecentActive = id == self;
        }
    }

    private Progress NewProgress(ulong lastIndex, bool isLearner) =>
        new(lastIndex + 1, _maxInflight, isLearner) { RecentActive = true };
}
