using System.Globalization;
using Proto;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Raft;

/// <summary>
/// The store's proposer on a Raft quorum: a proposal is appended to the Raft log (on a follower
/// the core forwards it to the leader), and the call returns once this manager has applied it.
/// The proposal carries this manager's time when it is made: every replica stamps the objects it
/// writes with that time, not with its own clock when it applies the entry.
/// </summary>
public sealed class RaftProposer : IProposer
{
    private static readonly TimeSpan NoLeaderRetry = TimeSpan.FromMilliseconds(100);

    private readonly IRootContext _root;
    private readonly PID _raft;
    private readonly RaftPending _pending;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;

    // Proposal ids only need to be unique among the managers' pending writes: a random prefix per
    // proposer and a counter, instead of 16 calls into the system's random generator per write.
    private readonly string _idPrefix = SwarmIds.New(12) + "-";
    private long _nextId;

    public RaftProposer(IRootContext root, PID raft, RaftPending pending, TimeSpan timeout, TimeProvider time)
    {
        _root = root;
        _raft = raft;
        _pending = pending;
        _timeout = timeout;
        _time = time;
    }

    /// <summary>
    /// A proposal refused at once because there is no leader (an election, a leadership transfer)
    /// is proposed again until one is there, within the same time limit: a write during a brief
    /// change of leader waits for it instead of failing.
    /// </summary>
    public async Task<ulong> ProposeAsync(IReadOnlyList<StoreChange> changes, CancellationToken ct = default)
    {
        var deadline = DateTime.UtcNow + _timeout;
        var deadlineTicks = Environment.TickCount64 + (long)_timeout.TotalMilliseconds;
        while (true)
        {
            var id = string.Concat(_idPrefix, Interlocked.Increment(ref _nextId).ToString("x", CultureInfo.InvariantCulture));
            var done = _pending.Register(id, deadlineTicks);
            if (_pending.Enqueue(id, StoreCodec.EncodeProposal(id, changes, _time.GetUtcNow())))
            {
                _root.Send(_raft, ProposalsQueued.Instance);
            }

            try
            {
                return await (ct.CanBeCanceled ? done.WaitAsync(ct) : done);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                _pending.Forget(id);
                throw;
            }
            catch (NoLeaderException) when (DateTime.UtcNow + NoLeaderRetry < deadline)
            {
                await Task.Delay(NoLeaderRetry, ct);
            }
            catch (Exception e) when (e is TimeoutException or NoLeaderException)
            {
                _pending.Forget(id);
                throw new StoreUnavailableException(
                    $"The write was not committed within {_timeout.TotalSeconds:0} s: the managers have no quorum or no leader right now. Check `protoswarm node ls` on a manager; it may still be applied.");
            }
        }
    }
}

/// <summary>The Raft peer refused a proposal at once: no leader to take it. It was not appended.</summary>
public sealed class NoLeaderException : InvalidOperationException
{
    public NoLeaderException()
        : base("There is no Raft leader right now (an election or a leadership transfer is under way, or the managers have lost quorum).")
    {
    }

    public NoLeaderException(string message)
        : base(message)
    {
    }

    public NoLeaderException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A write that could not be committed: no leader, no quorum. It may or may not take effect.</summary>
public sealed class StoreUnavailableException : InvalidOperationException
{
    public StoreUnavailableException(string message)
        : base(message)
    {
    }

    public StoreUnavailableException()
    {
    }

    public StoreUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
