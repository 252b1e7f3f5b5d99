using System.Collections.Immutable;
using Microsoft.Extensions.Logging.Abstractions;
using Proto;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Contracts;
using ProtoSwarm.Tests.Nodes;

namespace ProtoSwarm.Tests.Managers;

/// <summary>A node that keeps changing under the manager API (every write is stale) must still get an answer.</summary>
public sealed class ManagerApiConflictTests : IAsyncLifetime
{
    private readonly ActorSystem _system = new();
    private readonly AlwaysStale _proposer = new();
    private PID _api = null!;

    public Task InitializeAsync()
    {
        var state = StoreState.Restore(5, [TestNodes.Cluster(), TestNodes.Manager("m1", leader: true), TestNodes.Worker("w1", state: NodeState.Down)]);
        var (context, _) = TestManagers.Leader(_system, new SwarmStore(state), _proposer, "m1");
        _api = _system.Root.Spawn(Props.FromProducer(() => new ManagerApiActor(context, TestManagers.NoAddress)));
        return Task.CompletedTask;
    }

    public Task DisposeAsync() => _system.ShutdownAsync();

    public static TheoryData<string, object> Commands() => new()
    {
        { "promote", new PromoteNode("r1", "w1") },
        { "update", new UpdateNode("r2", "w1", NodeAvailability.Drain, ImmutableSortedDictionary<string, string>.Empty, []) },
        { "remove", new RemoveNode("r3", "w1", Force: false) },
    };

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task A_Command_That_Keeps_Conflicting_Is_Rejected_As_A_Conflict_Not_Left_Unanswered(string command, object message)
    {
        var reply = await _system.Root.RequestAsync<object>(_api, message, TestTimeout.Token);

        Assert.True(reply is CommandRejected { Code: RejectCode.Conflict }, $"{command}: got {reply}");
        Assert.True(_proposer.Attempts > 1, $"{command}: tried {_proposer.Attempts} times");
    }

    private sealed class AlwaysStale : IProposer
    {
        private int _attempts;

        public int Attempts => Volatile.Read(ref _attempts);

        public Task<ulong> ProposeAsync(IReadOnlyList<StoreChange> changes, CancellationToken ct = default)
        {
            Interlocked.Increment(ref _attempts);
            return Task.FromException<ulong>(new StoreConflictException("changed since it was read"));
        }
    }
}
