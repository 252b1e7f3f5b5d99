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
        _api = _system.Root.Spawn(Props.FromProducer(() => new ManagerApiRouter(() => Props.FromProducer(() => new ManagerApiActor(context, TestManagers.NoAddress)))));
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
