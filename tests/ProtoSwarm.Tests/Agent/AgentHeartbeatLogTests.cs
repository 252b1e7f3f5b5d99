using Proto;
using ProtoSwarm.Actors.Agent;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Contracts;
using ProtoSwarm.Tests.Managers;
using ProtoSwarm.Tests.Nodes;

namespace ProtoSwarm.Tests.Agent;

/// <summary>
/// What a node's agent writes in its log while its heartbeats fail: a manager that refuses them
/// (a follower that knows no leader, a blocked member) is one warning for the first refusal in a
/// row, as a manager that does not answer is, not two lines for every beat.
/// </summary>
public sealed class AgentHeartbeatLogTests : IAsyncLifetime
{
    private readonly ActorSystem _system = new(new ActorSystemConfig().WithDeveloperSupervisionLogging(false));
    private readonly CapturedLogs _logs = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _system.ShutdownAsync();
        _logs.Dispose();
    }

    [Fact]
    public async Task Refused_Heartbeats_Are_One_Warning_Until_One_Is_Answered()
    {
        var beats = 0;
        _system.Root.SpawnNamed(Props.FromFunc(context =>
        {
            if (context.Message is NodeHeartbeat)
            {
                context.Respond(Interlocked.Increment(ref beats) <= 5
                    ? new HeartbeatRejected("this manager knows no leader", Removed: false)
                    : new HeartbeatAck(500, [], [], NodeRole.Worker));
            }

            return Task.CompletedTask;
        }), Kinds.Dispatcher);

        var settings = new AgentSettings(
            "w1", "cluster-a", "10.0.0.1", new MemberInfo("member-w1", "10.0.0.1", 2377, []), TestNodes.Description("host-w1"),
            () => NodeRole.Worker, [new ManagerAddress("m1", _system.Address, true)], TimeProvider.System, _ => { }, _ => { });
        _system.Root.Spawn(Props.FromProducer(() => new AgentActor(settings, _logs.Factory)));

        await Poll.Until(() => _logs.Lines.Any(l => l.StartsWith("Heartbeats reach manager", StringComparison.Ordinal)), "a heartbeat was answered after the refusals");
        var failures = _logs.Lines.Where(l => l.Contains("heartbeat", StringComparison.OrdinalIgnoreCase) && !l.StartsWith("Heartbeats reach", StringComparison.Ordinal)).ToList();
        Assert.Equal([$"Heartbeat to manager {_system.Address} failed (refused: this manager knows no leader); 1 in a row, trying the next manager"], failures);
        Assert.Contains($"Heartbeats reach manager {_system.Address} again after 5 failures", _logs.Lines);
    }
}
