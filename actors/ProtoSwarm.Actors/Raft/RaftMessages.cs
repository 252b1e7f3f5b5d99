using System.Collections.Concurrent;
using System.Collections.Immutable;
using ProtoSwarm.Raft;

namespace ProtoSwarm.Actors.Raft;

// Local messages to a manager's RaftActor (never sent between nodes).

/// <summary>
/// Proposals are waiting in <see cref="RaftPending"/>: take them all. Sent once for however many
/// queue up before the actor takes them, so a burst of writes costs one message, not one each.
/// </summary>
public sealed record ProposalsQueued
{
    public static readonly ProposalsQueued Instance = new();
}

/// <summary>Change the Raft membership; answered with <see cref="MembershipAnswer"/> once applied (or refused).</summary>
public sealed record ProposeMembership(string RequestId, ConfChange Change);

public sealed record MembershipAnswer(bool Applied, string Reason);

/// <summary>A linearizable read: answered with <see cref="ReadAnswer"/> once the store has applied the read index.</summary>
public sealed record RequestRead(string RequestId);

public sealed record ReadAnswer(bool Ok, ulong Index, string Reason);

public sealed record TransferLeadershipTo(ulong RaftId);

/// <summary>Which peers this member has had a Raft message from since <paramref name="Timestamp"/> (a TimeProvider timestamp).</summary>
public sealed record GetPeersHeardSince(long Timestamp);

public sealed record PeersHeard(ImmutableHashSet<ulong> RaftIds);

/// <summary>What the managers show of Raft: who leads, who is a member, how far each is.</summary>
public sealed record RaftStatusAnswer(ulong RaftId, ulong LeaderId, ulong Term, ulong Commit, ulong Applied, RaftStatus Status);

/// <summary>A proposal waiting for the Raft actor: its id and its entry's bytes.</summary>
public readonly record struct QueuedProposal(string ProposalId, byte[] Data);

/// <summary>
/// Proposals waiting to be applied, shared by the proposer (outside the actor) and the actor; and
/// the queue of proposals not yet handed to the Raft core.
/// </summary>
public sealed class RaftPending
{
    private static readonly TimeSpan SweepPeriod = TimeSpan.FromMilliseconds(50);

    private readonly ConcurrentDictionary<string, (TaskCompletionSource<ulong> Done, long Deadline)> _pending = new(StringComparer.Ordinal);
    private readonly Lock _sweepGate = new();
    private Timer? _sweeper;
    private readonly ConcurrentQueue<QueuedProposal> _queue = new();
    private int _signalled;

    /// <summary>
    /// Queues an encoded proposal for the Raft actor. True when the caller must tell the actor
    /// (<see cref="ProposalsQueued"/>): no signal is outstanding since it last took the queue.
    /// </summary>
    public bool Enqueue(string proposalId, byte[] data)
    {
        _queue.Enqueue(new QueuedProposal(proposalId, data));
        return Interlocked.Exchange(ref _signalled, 1) == 0;
    }

    /// <summary>Takes every queued proposal, in order (the Raft actor only).</summary>
    public void TakeQueued(List<QueuedProposal> into)
    {
        // Cleared before taking: a proposal queued after this point signals again, so none is left behind.
        Volatile.Write(ref _signalled, 0);
        while (_queue.TryDequeue(out var proposal))
        {
            into.Add(proposal);
        }
    }

    /// <summary>
    /// A proposal awaited until it is applied, refused, or <paramref name="deadline"/> (an
    /// <see cref="Environment.TickCount64"/>) has passed: then it fails with <see cref="TimeoutException"/>.
    /// One timer sweeps every pending proposal while there are any, instead of a timer per write.
    /// </summary>
    public Task<ulong> Register(string proposalId, long deadline)
    {
        var tcs = new TaskCompletionSource<ulong>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[proposalId] = (tcs, deadline);
        if (Volatile.Read(ref _sweeper) is null)
        {
            lock (_sweepGate)
            {
                _sweeper ??= new Timer(static state => ((RaftPending)state!).Sweep(), this, SweepPeriod, SweepPeriod);
            }
        }

        return tcs.Task;
    }

    public void Complete(string proposalId, ulong index)
    {
        if (_pending.TryRemove(proposalId, out var waiting))
        {
            waiting.Done.TrySetResult(index);
        }
    }

    public void Fail(string proposalId, Exception error)
    {
        if (_pending.TryRemove(proposalId, out var waiting))
        {
            waiting.Done.TrySetException(error);
        }
    }

    public void Forget(string proposalId) => _pending.TryRemove(proposalId, out _);

    private void Sweep()
    {
        var now = Environment.TickCount64;
        foreach (var (id, waiting) in _pending)
        {
            if (waiting.Deadline <= now)
            {
                Fail(id, new TimeoutException());
            }
        }

        lock (_sweepGate)
        {
            // Registered before this check: the entry is seen. After it: Register starts a new timer.
            if (_pending.IsEmpty && _sweeper is { } sweeper)
            {
                sweeper.Dispose();
                _sweeper = null;
            }
        }
    }

    public void FailAll(Exception error)
    {
        foreach (var id in _pending.Keys.ToList())
        {
            Fail(id, error);
        }
    }
}
