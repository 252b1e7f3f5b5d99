using System.Diagnostics;
using System.Globalization;
using System.Net;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging;
using Proto;
using Proto.Remote;
using Proto.Remote.GrpcNet;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Actors.Raft;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Runtime;
using ProtoSwarm.Networking.Remote;
using ProtoSwarm.Persistence;
using ProtoSwarm.Raft;

namespace ProtoSwarm.Benchmarks.Raft;

/// <summary>
/// Three ProtoSwarm managers' Raft peers in one process, wired as <c>SwarmMember.StartManager</c>
/// wires them: each its own ActorSystem with Proto.Remote on 127.0.0.1, its own raft.db (SQLite WAL,
/// synchronous=FULL) in a temp dir, store, pending proposals, view and proposer. Member 1 is
/// bootstrapped as `swarm init` does; 2 and 3 join as learners through the leader, which promotes them.
/// Writes come from a separate client-mode ActorSystem over Proto.Remote, as etcd's come over gRPC.
/// </summary>
public sealed class ProtoSwarmQuorum : IRaftQuorum
{
    internal const string ClusterId = "protoswarm-bench";
    internal const string WriterName = "bench-writer";
    internal static readonly TimeSpan ProposalTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Longer than the proposer's own timeout, so that its answer arrives first.</summary>
    internal static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(12);
    private static readonly string Padding = new('x', 100);

    private readonly DirectoryInfo _root;
    private readonly ILoggerFactory _loggerFactory;
    private readonly Dictionary<ulong, string> _addresses = [];
    private readonly List<Manager> _managers = [];

    // Sealed as managers seal their logs (AES-GCM under a data key of their own).
    private readonly Dictionary<ulong, ProtoSwarm.Persistence.Sealing.Sealer> _sealers = [];
    private ActorSystem? _client;
    private long _retries;

    private ProtoSwarmQuorum(DirectoryInfo root, ILoggerFactory loggerFactory)
    {
        _root = root;
        _loggerFactory = loggerFactory;
    }

    public string Name => "ProtoSwarm Raft, 3 managers (client over Proto.Remote, to the leader)";

    public string Description { get; private set; } = string.Empty;

    public static async Task<ProtoSwarmQuorum> StartAsync(ILoggerFactory loggerFactory, TimeSpan? timeout = null)
    {
        var quorum = new ProtoSwarmQuorum(Directory.CreateTempSubdirectory("protoswarm-raft-"), loggerFactory);
        try
        {
            await quorum.FormAsync(timeout ?? TimeSpan.FromSeconds(30));
            return quorum;
        }
        catch
        {
            await quorum.DisposeAsync();
            throw;
        }
    }

    public Func<Task> Writer(string row, int? keySpace)
    {
        var leader = _managers.FirstOrDefault(m => m.View.IsLeader)
            ?? throw new InvalidOperationException("The ProtoSwarm quorum has no leader.");
        var client = _client!;
        long next = 0;
        return async () =>
        {
            // A write the managers could not commit (its leader lost leadership) is retried under a new
            // id, as a client would: the latency includes the retry, and the retries are counted.
            while (true)
            {
                var n = Interlocked.Increment(ref next);
                var node = SampleNode($"bench-{row}-{(keySpace is { } space ? n % space : n).ToString(CultureInfo.InvariantCulture)}");
                var target = new PID((_managers.FirstOrDefault(m => m.View.IsLeader) ?? leader).System.Address, WriterName);
                try
                {
                    if (await client.Root.RequestAsync<object>(target, node, ClientTimeout) is UInt64Value)
                    {
                        return;
                    }
                }
                catch (TimeoutException)
                {
                }

                Interlocked.Increment(ref _retries);
            }
        };
    }

    public string Summary => string.Create(CultureInfo.InvariantCulture, $"ProtoSwarm writes retried (not committed in time, or refused during a leader change): {Interlocked.Read(ref _retries)}");

    public async ValueTask DisposeAsync()
    {
        // Every side closes its outgoing streams gracefully and at the same time: a listening remote
        // otherwise waits for Kestrel's 30 s shutdown timeout on a stream still open to it.
        if (_client is not null)
        {
            await _client.Remote().ShutdownAsync(graceful: true);
            await _client.ShutdownAsync();
        }

        await Task.WhenAll(_managers.Select(async m =>
        {
            await m.System.Remote().ShutdownAsync(graceful: true);
            await m.System.ShutdownAsync();
        }));
        foreach (var manager in _managers)
        {
            manager.File.Dispose();
            _sealers.GetValueOrDefault(manager.RaftId)?.Dispose();
        }

        _root.Delete(recursive: true);
    }

    private async Task FormAsync(TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        var ports = LoopbackPorts.Free(3);
        for (var i = 0; i < ports.Length; i++)
        {
            _addresses[(ulong)i + 1] = $"127.0.0.1:{ports[i]}";
        }

        // `swarm init`: a snapshot at index 1 with member 1 as the only voter; it elects itself.
        RaftBootstrap.Create(PathOf(1), SealerOf(1), ClusterId, 1, [], DateTimeOffset.UtcNow);
        var first = await StartManagerAsync(1);
        await WaitAsync(() => first.View.IsLeader, deadline, timeout, "member 1 to lead the new swarm");

        // `swarm join --token <manager>`: empty raft.db, then the leader adds it as a learner and
        // promotes it to voter on its own once it has caught up.
        foreach (var id in new ulong[] { 2, 3 })
        {
            await StartManagerAsync(id);
            await AddLearnerAsync(first, id, deadline, timeout);
        }

        await WaitAsync(
            () => _managers.All(m => m.View.Voters.Length == 3 && m.View.LeaderId != 0 && m.View.LeaderId == _managers[0].View.LeaderId),
            deadline,
            timeout,
            "all three managers to be voters and agree on a leader");

        _client = new ActorSystem().WithClientRemote(RemoteConfigFactory.ForClient().WithProtoMessages(WrappersReflection.Descriptor));
        await _client.Remote().StartAsync();

        var proposalBytes = StoreCodec.EncodeProposal(SwarmIds.NewRequestId(), [StoreChange.Create(SampleNode("bench-1-1"))], DateTimeOffset.UtcNow).Length;
        var leader = _managers.First(m => m.View.IsLeader);
        Description = string.Create(
            CultureInfo.InvariantCulture,
            $"ProtoSwarm: 3 managers' RaftActors in this process on {string.Join(", ", _addresses.Values)}, raft.db (WAL, synchronous=FULL) under {_root.FullName}; leader is member {leader.RaftId}; each write creates one node object ({proposalBytes} bytes as a Raft entry), sent from a client-mode ActorSystem to the leader's `{WriterName}` actor, which calls RaftProposer.ProposeAsync");
    }

    private async Task<Manager> StartManagerAsync(ulong raftId)
    {
        var port = int.Parse(_addresses[raftId].Split(':')[1], CultureInfo.InvariantCulture);
        var manager = await StartMemberAsync(raftId, port, PathOf(raftId), SealerOf(raftId), _loggerFactory, id => _addresses.GetValueOrDefault(id));
        _managers.Add(manager);
        return manager;
    }

    /// <summary>
    /// One manager's Raft peer as `SwarmMember.StartManager` wires it (Proto.Remote on a loopback port, a RaftActor
    /// named `raft` over its own sealed raft.db, store, pending, view, proposer) plus the `bench-writer` actor; the
    /// in-process quorum and each <see cref="RaftMemberProcess"/> start their members with it.
    /// </summary>
    internal static async Task<Manager> StartMemberAsync(ulong raftId, int port, string path, ProtoSwarm.Persistence.Sealing.Sealer sealer, ILoggerFactory loggerFactory, Func<ulong, string?> addressOf)
    {
        var system = new ActorSystem(new ActorSystemConfig().WithDeveloperSupervisionLogging(false))
            .WithRemote(RemoteConfigFactory.ForNode(new IPEndPoint(IPAddress.Loopback, port), "127.0.0.1").WithProtoMessages(WrappersReflection.Descriptor));
        await system.Remote().StartAsync();

        var (file, disk) = RaftLogFile.Open(path, ClusterId, raftId, sealer);
        var store = new SwarmStore(StoreState.Empty);
        var pending = new RaftPending();
        var view = new RaftView(raftId);
        var settings = new RaftSettings(ClusterId, raftId, file, disk, store, pending, TimeProvider.System, loggerFactory, view, system.Address, addressOf);
        var raft = system.Root.SpawnNamed(RaftActor.Props(settings), "raft");
        var proposer = new RaftProposer(system.Root, raft, pending, ProposalTimeout, TimeProvider.System);
        system.Root.SpawnNamed(Props.FromProducer(() => new BenchWriterActor(proposer, store)), WriterName);
        return new Manager(raftId, system, file, view, raft);
    }

    private static async Task AddLearnerAsync(Manager leader, ulong raftId, Stopwatch deadline, TimeSpan timeout)
    {
        while (true)
        {
            var answer = await leader.System.Root.RequestAsync<MembershipAnswer>(
                leader.Raft,
                new ProposeMembership(SwarmIds.NewRequestId(), new ConfChange(ConfChangeType.AddLearner, raftId, $"manager-{raftId}")),
                ProposalTimeout);
            if (answer.Applied)
            {
                return;
            }

            // The promotion of the previous learner may still be in flight: the product retries too.
            if (deadline.Elapsed > timeout || !answer.Reason.StartsWith("another membership change", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"Adding member {raftId} as a learner failed: {answer.Reason}");
            }

            await Task.Delay(50);
        }
    }

    private static async Task WaitAsync(Func<bool> condition, Stopwatch deadline, TimeSpan timeout, string what)
    {
        while (!condition())
        {
            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException($"The ProtoSwarm quorum did not form within {timeout.TotalSeconds:0} s: waited for {what}.");
            }

            await Task.Delay(20);
        }
    }

    private string PathOf(ulong raftId) => Path.Combine(_root.CreateSubdirectory($"manager-{raftId}").FullName, "raft.db");

    /// <summary>A new worker node with one label, so that the entry is about as big as etcd's 256-byte value and its key.</summary>
    internal static NodeObject SampleNode(string id)
    {
        var node = NodeCommands.NewNode(id, NodeRole.Worker, "10.0.0.1", 2377, new NodeDescription(id, "linux", "x86_64", 2_000_000_000, 1L << 34, "0.1.0"), DateTimeOffset.UtcNow, leader: false);
        return node with { Spec = node.Spec with { Labels = node.Spec.Labels.Add("bench.payload", Padding) } };
    }

    private ProtoSwarm.Persistence.Sealing.Sealer SealerOf(ulong raftId)
    {
        if (!_sealers.TryGetValue(raftId, out var sealer))
        {
            using var key = ProtoSwarm.Persistence.Sealing.DataKey.Generate();
            sealer = new ProtoSwarm.Persistence.Sealing.Sealer(key);
            _sealers[raftId] = sealer;
        }

        return sealer;
    }

    internal sealed record Manager(ulong RaftId, ActorSystem System, RaftLogFile File, RaftView View, PID Raft);
}
