namespace ProtoSwarm.Raft;

/// <summary>
/// Pending ReadIndex requests at the leader (ReadOnlySafe): each records the commit index when it
/// arrived and which peers have since answered a heartbeat carrying its context. A quorum of
/// answers to a later request confirms every earlier one too.
/// </summary>
internal sealed class ReadOnlyQueue
{
    private readonly Dictionary<string, PendingRead> _pending = [];
    private readonly List<string> _order = [];

    public byte[]? LastPendingContext => _order.Count == 0 ? null : _pending[_order[^1]].Request.Context;

    public void Add(ulong index, Message request)
    {
        var key = Key(request.Context!);
        if (_pending.ContainsKey(key))
        {
            return;
        }

        _pending[key] = new PendingRead(index, request, []);
        _order.Add(key);
    }

    /// <summary>Records that <paramref name="from"/> confirmed leadership for the request; its acks so far, or null if unknown.</summary>
    public HashSet<ulong>? RecordAck(ulong from, byte[] context)
    {
        if (!_pending.TryGetValue(Key(context), out var read))
        {
            return null;
        }

        read.Acks.Add(from);
        return read.Acks;
    }

    /// <summary>Removes and returns the request with this context and every one queued before it.</summary>
    public List<PendingRead> Advance(byte[] context)
    {
        var key = Key(context);
        var at = _order.IndexOf(key);
        if (at < 0)
        {
            return [];
        }

        var done = _order.Take(at + 1).Select(k => _pending[k]).ToList();
        foreach (var k in _order.Take(at + 1))
        {
            _pending.Remove(k);
        }

        _order.RemoveRange(0, at + 1);
        return done;
    }

    public void Clear()
    {
        _pending.Clear();
        _order.Clear();
    }

    private static string Key(byte[] context) => Convert.ToHexString(context);

    internal sealed record PendingRead(ulong Index, Message Request, HashSet<ulong> Acks);
}
