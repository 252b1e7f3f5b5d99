using System.Text;
using ProtoSwarm.Raft;

namespace ProtoSwarm.Raft.Tests;

/// <summary>
/// RaftNode peers over MemoryRaftLogs, with messages delivered synchronously: each round drains every
/// Ready (persist, apply, advance) and then steps the messages into their targets, until quiet.
/// Links can be cut one way; a filter can drop or inspect any message.
/// </summary>
internal sealed class TestNetwork
{
    private readonly Func<ulong, RaftConfig> _configFor;
    private readonly HashSet<(ulong From, ulong To)> _cut = [];

    public TestNetwork(ulong[] voters, Func<RaftConfig, RaftConfig>? configure = null, ulong[]? learners = null, ulong[]? extraPeers = null)
    {
        configure ??= c => c;
        _configFor = id => configure(new RaftConfig { Id = id, RandomSeed = 42 });
        var members = new ConfState([.. voters], [.. learners ?? []]);
        foreach (var id in voters.Concat(learners ?? []))
        {
            Add(id, MemoryRaftLog.Bootstrap(members));
        }

        foreach (var id in extraPeers ?? [])
        {
            Add(id, new MemoryRaftLog());
        }
    }

    public Dictionary<ulong, RaftNode> Nodes { get; } = [];

    public Dictionary<ulong, MemoryRaftLog> Logs { get; } = [];

    /// <summary>Each peer's state machine: the data of every applied normal entry, in order.</summary>
    public Dictionary<ulong, List<string>> Applied { get; } = [];

    public Dictionary<ulong, List<ReadState>> Reads { get; } = [];

    /// <summary>Snapshots each peer installed from a Ready.</summary>
    public Dictionary<ulong, List<Snapshot>> Installed { get; } = [];

    /// <summary>Every message delivered or dropped, in order.</summary>
    public List<Message> Sent { get; } = [];

    /// <summary>Returns the message to deliver (possibly rewritten), or null to drop it.</summary>
    public Func<Message, Message?> Filter { get; set; } = m => m;

    /// <summary>Tell the sender when a Snapshot message is dropped, as a transport whose stream failed would.</summary>
    public bool ReportDroppedSnapshots { get; set; }

    public RaftNode this[ulong id] => Nodes[id];

    public void Add(ulong id, MemoryRaftLog log, Func<RaftConfig, RaftConfig>? tweak = null)
    {
        Logs[id] = log;
        Applied[id] = [];
        Reads[id] = [];
        Installed[id] = [];
        var config = _configFor(id);
        Nodes[id] = new RaftNode(tweak is null ? config : tweak(config), log);
    }

    /// <summary>A crash and restart from what was persisted; the state machine replays from the snapshot.</summary>
    public void Restart(ulong id, Func<RaftConfig, RaftConfig>? tweak = null)
    {
        var snapshot = Logs[id].Snapshot();
        Applied[id] = SnapshotState(snapshot);
        var config = _configFor(id) with { Applied = 0 };
        Nodes[id] = new RaftNode(tweak is null ? config : tweak(config), Logs[id]);
    }

    public void Cut(ulong a, ulong b)
    {
        _cut.Add((a, b));
        _cut.Add((b, a));
    }

    public void Isolate(ulong id)
    {
        foreach (var other in Nodes.Keys.Where(o => o != id))
        {
            Cut(id, other);
        }
    }

    public void Heal() => _cut.Clear();

    public void Tick(int ticks = 1)
    {
        for (var i = 0; i < ticks; i++)
        {
            foreach (var node in Nodes.OrderBy(n => n.Key))
            {
                node.Value.Tick();
            }

            Process();
        }
    }

    /// <summary>Ticks until some peer leads (at most <paramref name="maxTicks"/>), and returns it.</summary>
    public ulong ElectLeader(int maxTicks = 200)
    {
        Process();
        for (var i = 0; i < maxTicks && LeaderId() == 0; i++)
        {
            Tick();
        }

        var leader = LeaderId();
        Assert.NotEqual(0UL, leader);
        return leader;
    }

    /// <summary>The leader of the highest term, 0 if none.</summary>
    public ulong LeaderId() =>
        Nodes.Values.Where(n => n.Status.Role == StateRole.Leader).OrderByDescending(n => n.Status.Term).Select(n => n.Id).FirstOrDefault();

    public bool Propose(ulong id, string data)
    {
        var ok = Nodes[id].Propose(Encoding.UTF8.GetBytes(data));
        Process();
        return ok;
    }

    public void Deliver(Message m)
    {
        Sent.Add(m);
        if (_cut.Contains((m.From, m.To)) || Filter(m) is not { } delivered || !Nodes.TryGetValue(m.To, out var target))
        {
            if (ReportDroppedSnapshots && m.Type == MessageType.Snapshot && Nodes.TryGetValue(m.From, out var sender))
            {
                sender.ReportSnapshot(m.To, ok: false);
            }

            return;
        }

        target.Step(delivered);
    }

    /// <summary>Drains Readies and delivers their messages until nothing moves.</summary>
    public void Process()
    {
        for (var round = 0; round < 10_000; round++)
        {
            var outbox = new List<Message>();
            foreach (var (id, node) in Nodes.OrderBy(n => n.Key))
            {
                while (node.HasReady())
                {
                    outbox.AddRange(HandleReady(id, node));
                }
            }

            if (outbox.Count == 0)
            {
                return;
            }

            foreach (var m in outbox)
            {
                Deliver(m);
            }
        }

        throw new InvalidOperationException("the network never went quiet");
    }

    /// <summary>One Ready, handled as the actor layer does: persist, (send), apply, advance.</summary>
    public IReadOnlyList<Message> HandleReady(ulong id, RaftNode node)
    {
        var log = Logs[id];
        var ready = node.GetReady();
        if (ready.Snapshot is { } snapshot)
        {
            log.ApplySnapshot(snapshot);
            Applied[id] = SnapshotState(snapshot);
            Installed[id].Add(snapshot);
        }

        log.Append(ready.Entries);
        if (ready.HardState is { } hardState)
        {
            log.SetHardState(hardState);
        }

        foreach (var entry in ready.CommittedEntries)
        {
            if (entry.Type == EntryType.ConfChange)
            {
                node.ApplyConfChange(ConfChange.FromBytes(entry.Data));
            }
            else if (entry.Data.Length > 0)
            {
                Applied[id].Add(Encoding.UTF8.GetString(entry.Data));
            }
        }

        Reads[id].AddRange(ready.ReadStates);
        node.Advance(ready);
        return ready.Messages;
    }

    /// <summary>Takes a snapshot of a peer's applied state and compacts its log up to it.</summary>
    public void SnapshotAndCompact(ulong id)
    {
        var status = Nodes[id].Status;
        if (status.Applied <= Logs[id].Snapshot().Metadata.Index)
        {
            return;
        }

        var data = Encoding.UTF8.GetBytes(string.Join('\n', Applied[id]));
        Logs[id].CreateSnapshot(status.Applied, status.ConfState, data);
        Logs[id].Compact(status.Applied);
    }

    private static List<string> SnapshotState(Snapshot snapshot) =>
        snapshot.Data.Length == 0 ? [] : [.. Encoding.UTF8.GetString(snapshot.Data).Split('\n')];
}
