namespace ProtoSwarm.Networking.Netlink;

/// <summary>
/// Requests written back to back, each acknowledged, sent with as few sends as the kernel's limit
/// allows. Each request keeps the operation's name (for the exception) and the errnos it tolerates.
/// </summary>
internal sealed class NetlinkBatch(NetlinkSocket socket)
{
    private readonly List<(uint Seq, int Start, int Length, string Operation, int[] Ignore)> _requests = [];
    private readonly Dictionary<uint, int> _indexBySeq = [];

    public NetlinkWriter Writer { get; } = new();

    public int Count => _requests.Count;

    /// <summary>Writes one request: <paramref name="write"/> adds the family header and attributes.</summary>
    public void Add(string operation, ushort type, ushort flags, Action<NetlinkWriter> write, params int[] ignore)
    {
        var seq = socket.NextSeq();
        var start = Writer.Length;
        Writer.BeginMessage(type, (ushort)(flags | Rtnl.NLM_F_REQUEST | Rtnl.NLM_F_ACK), seq);
        write(Writer);
        var length = Writer.EndMessage();
        _indexBySeq[seq] = _requests.Count;
        _requests.Add((seq, start, length, operation, ignore));
    }

    public int IndexOf(uint seq) => _indexBySeq.TryGetValue(seq, out var index) ? index : -1;

    public string OperationOf(int index) => _requests[index].Operation;

    public bool Ignores(int index, int errno) => Array.IndexOf(_requests[index].Ignore, errno) >= 0;

    /// <summary>Consecutive requests grouped into sends of at most <paramref name="maxBytes"/>.</summary>
    public IEnumerable<(int Start, int Length, int From, int Count)> Chunks(int maxBytes)
    {
        var from = 0;
        while (from < _requests.Count)
        {
            var start = _requests[from].Start;
            var to = from;
            while (to < _requests.Count && (to == from || _requests[to].Start + _requests[to].Length - start <= maxBytes))
            {
                to++;
            }
            var end = _requests[to - 1].Start + _requests[to - 1].Length;
            yield return (start, end - start, from, to - from);
            from = to;
        }
    }
}
