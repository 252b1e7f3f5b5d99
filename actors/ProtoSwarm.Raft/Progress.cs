namespace ProtoSwarm.Raft;

internal enum ProgressState
{
    /// <summary>Next is a guess: one append per heartbeat until the follower accepts one.</summary>
    Probe,

    /// <summary>The follower is in step: appends are pipelined optimistically, bounded by the inflight window.</summary>
    Replicate,

    /// <summary>The follower needs a snapshot; nothing else is sent until it is acknowledged or reported failed.</summary>
    Snapshot,
}

/// <summary>What the leader knows of one follower's log (etcd's tracker.Progress).</summary>
internal sealed class Progress
{
    public Progress(ulong next, int maxInflight, bool isLearner)
    {
        Next = next;
        Inflights = new Inflights(maxInflight);
        IsLearner = isLearner;
    }

    public ulong Match { get; set; }

    public ulong Next { get; set; }

    public ProgressState State { get; private set; } = ProgressState.Probe;

    /// <summary>The snapshot index sent in Snapshot state.</summary>
    public ulong PendingSnapshot { get; set; }

    /// <summary>The leader's ticks since the snapshot went out (Snapshot state): one unanswered for an election timeout is taken as lost.</summary>
    public int SnapshotTicks { get; set; }

    /// <summary>Heard from since the last check-quorum round.</summary>
    public bool RecentActive { get; set; }

    /// <summary>In Probe state, an append is out and unanswered: wait for a reply or a heartbeat.</summary>
    public bool ProbeSent { get; set; }

    public Inflights Inflights { get; }

    public bool IsLearner { get; set; }

    public bool IsPaused => State switch
    {
        ProgressState.Probe => ProbeSent,
        ProgressState.Replicate => Inflights.Full,
        _ => true,
    };

    public void BecomeProbe()
    {
        if (State == ProgressState.Snapshot)
        {
            var pending = PendingSnapshot;
            ResetState(ProgressState.Probe);
            Next = Math.Max(Match + 1, pending + 1);
        }
        else
        {
            ResetState(ProgressState.Probe);
            Next = Match + 1;
        }
    }

    public void BecomeReplicate()
    {
        ResetState(ProgressState.Replicate);
        Next = Match + 1;
    }

    public void BecomeSnapshot(ulong snapshotIndex)
    {
        ResetState(ProgressState.Snapshot);
        PendingSnapshot = snapshotIndex;
    }

    /// <summary>An append with entries up to lastIndex went out.</summary>
    public void SentEntries(int count, ulong lastIndex)
    {
        switch (State)
        {
            case ProgressState.Replicate when count > 0:
                Next = lastIndex + 1;
                Inflights.Add(lastIndex);
                break;
            case ProgressState.Probe:
                ProbeSent = true;
                break;
        }
    }

    /// <summary>The follower has everything up to n; false if that is old news.</summary>
    public bool MaybeUpdate(ulong n)
    {
        var updated = false;
        if (Match < n)
        {
            Match = n;
            updated = true;
            ProbeSent = false;
        }

        Next = Math.Max(Next, n + 1);
        return updated;
    }

    /// <summary>
    /// The follower refused the append after <paramref name="rejected"/> and hinted it may match at
    /// <paramref name="matchHint"/>; false if the refusal is stale.
    /// </summary>
    public bool MaybeDecrTo(ulong rejected, ulong matchHint)
    {
        if (State == ProgressState.Replicate)
        {
            if (rejected <= Match)
            {
                return false;
            }

            Next = Match + 1;
            return true;
        }

        if (Next - 1 != rejected)
        {
            return false;
        }

        Next = Math.Max(Math.Min(rejected, matchHint + 1), Match + 1);
        ProbeSent = false;
        return true;
    }

    private void ResetState(ProgressState state)
    {
        ProbeSent = false;
        PendingSnapshot = 0;
        SnapshotTicks = 0;
        State = state;
        Inflights.Reset();
    }
}

/// <summary>The last index of each append in flight to one follower, oldest first; bounded (flow control).</summary>
internal sealed class Inflights
{
    private readonly Queue<ulong> _lastIndexes = new();
    private readonly int _capacity;

    public Inflights(int capacity) => _capacity = capacity;

    public int Count => _lastIndexes.Count;

    public bool Full => _lastIndexes.Count >= _capacity;

    public void Add(ulong lastIndex)
    {
        if (Full)
        {
            throw new InvalidOperationException("no room in the inflight window");
        }

        _lastIndexes.Enqueue(lastIndex);
    }

    /// <summary>The follower acknowledged up to index: every append ending at or before it has landed.</summary>
    public void FreeLE(ulong index)
    {
        while (_lastIndexes.Count > 0 && _lastIndexes.Peek() <= index)
        {
            _lastIndexes.Dequeue();
        }
    }

    public void FreeFirstOne() => _lastIndexes.TryDequeue(out _);

    public void Reset() => _lastIndexes.Clear();
}
