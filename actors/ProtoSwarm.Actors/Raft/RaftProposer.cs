using Proto;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Raft;

/// <summary>
/// The store's proposer on a Raft quorum: a proposal is appended to the Raft log (on a follower
/// the core forwards it to the leader), and the call returns once this manager has applied it.
/// </summary>
public sealed class RaftProposer : IProposer
{
    private readonly IRootContext _root;
    private readonly PID _raft;
    private readonly RaftPending _pending;
    private readonly TimeSpan _timeout;

    public RaftProposer(IRootContext root, PID raft, RaftPending pending, TimeSpan timeout)
    {
        _root = root;
        _raft = raft;
        _pending = pending;
        _timeout = timeout;
    }

    public async Task<ulong> ProposeAsync(IReadOnlyList<StoreChange> changes, CancellationToken ct = default)
    {
        var id = SwarmIds.NewRequestId();
        var done = _pending.Register(id);
        _root.Send(_raft, new ProposeEntry(id, StoreCodec.EncodeProposal(id, changes)));
        try
        {
            return await done.WaitAsync(_timeout, ct);
        }
        catch (TimeoutException)
        {
            _pending.Forget(id);
            throw new StoreUnavailableException(
                $"The write was not committed within {_timeout.TotalSeconds:0} s: the managers have no quorum or no leader right now. Check `protoswarm node ls` on a manager; it may still be applied.");
        }
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
