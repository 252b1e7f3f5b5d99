namespace ProtoSwarm.Raft.Tests.Simulation;

/// <summary>A message in flight; SenderIncarnation tells a restarted sender's messages from its earlier life's.</summary>
internal sealed record Envelope(Message Message, int SenderIncarnation, long Seq)
{
    /// <summary>The step before which it may not be delivered (a delayed message).</summary>
    public int NotBefore { get; set; }
}

/// <summary>
/// The simulated network: one ordered queue of messages in flight that the driver delivers, drops,
/// duplicates, delays or reorders; and a partition, a group number per peer (same group = connected).
/// </summary>
internal sealed class SimNetwork
{
    private readonly SortedDictionary<ulong, int> _group = [];
    private long _seq;

    public List<Envelope> InFlight { get; } = [];

    public bool IsPartitioned => _group.Count > 0;

    public void Send(Message message, int senderIncarnation) => InFlight.Add(new Envelope(message, senderIncarnation, _seq++));

    public void Duplicate(Envelope envelope) => InFlight.Add(new Envelope(envelope.Message, envelope.SenderIncarnation, _seq++) { NotBefore = envelope.NotBefore });

    public bool Connected(ulong a, ulong b) => GroupOf(a) == GroupOf(b);

    public void Partition(IReadOnlyDictionary<ulong, int> groups)
    {
        _group.Clear();
        foreach (var (id, g) in groups)
        {
            _group[id] = g;
        }
    }

    public void Heal() => _group.Clear();

    public string Describe() => IsPartitioned ? string.Join(" | ", _group.GroupBy(kv => kv.Value).OrderBy(g => g.Key).Select(g => string.Join(",", g.Select(kv => kv.Key)))) : "healed";

    /// <summary>Peers not listed (joined after the partition began) sit in group 0.</summary>
    private int GroupOf(ulong id) => _group.TryGetValue(id, out var g) ? g : 0;
}
