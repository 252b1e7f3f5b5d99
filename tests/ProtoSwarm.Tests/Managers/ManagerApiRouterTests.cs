using System.Collections.Immutable;
using Proto;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Contracts;
using ProtoSwarm.Tests.Nodes;

namespace ProtoSwarm.Tests.Managers;

public sealed class ManagerApiRouterTests : IAsyncLifetime
{
    private readonly ActorSystem _system = new();
    private readonly StalledProposer _proposer = new();
    private PID _api = null!;

    public Task InitializeAsync()
    {
        var state = StoreState.Restore(5, [TestNodes.Cluster(), TestNodes.Manager("m1", leader: true), TestNodes.Worker("w1")]);
        var (context, _) = TestManagers.Leader(_system, new SwarmStore(state), _proposer, "m1");
        _api = _system.Root.Spawn(Props.FromProducer(() => new ManagerApiRouter(() => Props.FromProducer(() => new ManagerApiActor(context, TestManagers.NoAddress)),
            () => Task.FromResult(OwnNetworks))));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _proposer.Release.TrySetResult(7);
        await _system.ShutdownAsync();
    }

    [Fact]
    public async Task A_Query_Is_Answered_While_A_Command_Waits_For_Its_Write_To_Commit()
    {
        var command = _system.Root.RequestAsync<object>(_api, new UpdateNode("u1", "w1", NodeAvailability.Drain, ImmutableSortedDictionary<string, string>.Empty, []), TestTimeout.Token);
        await _proposer.Entered.Task.WaitAsync(TestTimeout.Token);

        var list = await _system.Root.RequestAsync<object>(_api, new ListNodes("l1"), TestTimeout.Token);

        Assert.IsType<NodeList>(list);
        Assert.False(command.IsCompleted, "the command should still be waiting for its write");
        _proposer.Release.TrySetResult(7);
        Assert.IsType<NodeUpdateAck>(await command);
    }

    private static readonly LocalNetworkList OwnNetworks = new([new LocalNetwork(new string('b', 64), "bridge", "bridge", TestNodes.T0, "172.18.0.0/16", "172.18.0.1",
        ImmutableSortedDictionary<string, string>.Empty, [])]);

    [Fact]
    public async Task The_Nodes_Own_Local_Networks_Are_Answered_By_The_Node_Even_While_A_Command_Waits()
    {
        var command = _system.Root.RequestAsync<object>(_api, new UpdateNode("u2", "w1", NodeAvailability.Drain, ImmutableSortedDictionary<string, string>.Empty, []), TestTimeout.Token);
        await _proposer.Entered.Task.WaitAsync(TestTimeout.Token);

        var local = await _system.Root.RequestAsync<object>(_api, new ListLocalNetworks("ln"), TestTimeout.Token);

        Assert.Same(OwnNetworks, local);
        _proposer.Release.TrySetResult(7);
        Assert.IsType<NodeUpdateAck>(await command);
    }

    [Fact]
    public async Task A_Node_That_Cannot_List_Its_Local_Networks_Says_Why()
    {
        var api = _system.Root.Spawn(Props.FromProducer(() => new ManagerApiRouter(
            () => Props.FromFunc(_ => Task.CompletedTask), // the API would never answer: only the node does
            () => Task.FromException<LocalNetworkList>(new IOException("netlink said no")))));

        var reply = await _system.Root.RequestAsync<object>(api, new ListLocalNetworks("ln"), TestTimeout.Token);

        var rejected = Assert.IsType<CommandRejected>(reply);
        Assert.Equal((RejectCode.Internal, "This node could not list its local networks: netlink said no"), (rejected.Code, rejected.Reason));
    }

    /// <summary>A proposer whose writes wait until the test lets them commit.</summary>
    private sealed class StalledProposer : IProposer
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource<ulong> Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<ulong> ProposeAsync(IReadOnlyList<StoreChange> changes, CancellationToken ct = default)
        {
            Entered.TrySetResult();
            return Release.Task;
        }
    }
}
