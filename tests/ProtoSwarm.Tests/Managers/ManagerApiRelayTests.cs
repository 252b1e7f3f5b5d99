using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Proto;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Actors.Raft;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Contracts;
using ProtoSwarm.Tests.Nodes;
using ProtoSwarm.Tests.Store;

namespace ProtoSwarm.Tests.Managers;

/// <summary>
/// A manager that does not lead sends requests to the leader: when it knows of none yet (an election; the leader it
/// was a moment ago just handed over, as `node demote` of the leader run on the leader does), it waits for one, a few
/// seconds at most, rather than refusing at once. The leader's API is an actor of the test's own system under the
/// API's name, reached at the system's address as a real one is at its manager's.
/// </summary>
public sealed class ManagerApiRelayTests : IAsyncLifetime
{
    private const string SelfId = "self000000";
    private const ulong LeaderRaftId = 77;

    /// <summary>
    /// How much earlier than asked a timeout may end by the test's watch: .NET's timers count whole milliseconds of
    /// <see cref="Environment.TickCount64"/>, so a 4.5 s timeout measured by a finer clock may end at 4.499 s.
    /// </summary>
    private static readonly TimeSpan TimerGranularity = TimeSpan.FromMilliseconds(16);

    private readonly TempDir _dir = new();
    private readonly ActorSystem _system = new();
    private readonly RaftView _view = new(TestNodes.RaftIdOf(SelfId));
    private SwarmStore _store = null!;
    private LocalProposer _proposer = null!;
    private PID _api = null!;
    private int _readsSeen;
    private int _readAnswersLost;
    private int _commandsSeen;

    public async Task InitializeAsync()
    {
        (_store, _proposer) = LocalProposer.Open(_dir.File("store.db"), TimeProvider.System, NullLogger.Instance);
        await _proposer.ProposeAsync([StoreChange.Create(TestNodes.Cluster()), StoreChange.Create(TestNodes.Manager(SelfId, "self"))]);
        var (context, _) = TestManagers.Leader(_system, _store, _proposer, SelfId);
        // No leader known: this manager has just handed leadership over, or an election is under way.
        _view.Update(0, 2, [_view.RaftId, LeaderRaftId], []);
        context = context with { Raft = _view };
        _system.Root.SpawnNamed(Props.FromFunc(c =>
        {
            switch (c.Message)
            {
                case ListNodes:
                    // The leader's answer: no nodes, unlike this manager's store; the first ones lost on their way back when asked to.
                    if (Interlocked.Increment(ref _readsSeen) > _readAnswersLost)
                    {
                        c.Respond(new NodeList([]));
                    }

                    break;
                case UpdateNode:
                    Interlocked.Increment(ref _commandsSeen); // never answered
                    break;
            }

            return Task.CompletedTask;
        }), Kinds.ManagerApi);
        var leaderAddress = _system.Address;
        _api = _system.Root.Spawn(Props.FromProducer(() => new ManagerApiActor(context, id => id == LeaderRaftId ? leaderAddress : null)));
    }

    public async Task DisposeAsync()
    {
        await _system.ShutdownAsync();
        await _proposer.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task A_Request_Waits_For_A_Leader_To_Be_Known_And_Goes_To_It()
    {
        var asked = Ask(new ListNodes("r1"));
        await Task.Delay(300);
        Assert.False(asked.IsCompleted, "the request was answered before any leader was known");

        _view.Update(LeaderRaftId, 2, [_view.RaftId, LeaderRaftId], []);

        var list = Assert.IsType<NodeList>(await asked);
        Assert.Empty(list.Nodes);
    }

    [Fact]
    public async Task A_Manager_Elected_While_It_Waited_Answers_Itself()
    {
        var asked = Ask(new ListNodes("r1"));
        await Task.Delay(300);

        _view.Update(_view.RaftId, 3, [_view.RaftId, LeaderRaftId], []);

        var list = Assert.IsType<NodeList>(await asked);
        Assert.Equal(["self"], list.Nodes.Select(n => n.Description.Hostname).ToArray());
    }

    [Fact]
    public async Task Without_A_Leader_For_A_Few_Seconds_The_Request_Is_Refused_As_Unavailable()
    {
        var leaderlessBefore = _view.LeaderlessFor; // the wait counts from when the leader was lost, not from the request
        var watch = Stopwatch.StartNew();

        var refused = Assert.IsType<CommandRejected>(await Ask(new ListNodes("r1")));

        Assert.Equal(RejectCode.Unavailable, refused.Code);
        Assert.StartsWith("The managers have no leader right now", refused.Reason, StringComparison.Ordinal);
        Assert.InRange(watch.Elapsed, ManagerApiActor.LeaderWait - leaderlessBefore - TimerGranularity, ManagerApiActor.LeaderWait + TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Once_No_Leader_Has_Been_Known_For_A_While_Requests_Are_Refused_At_Once()
    {
        Assert.IsType<CommandRejected>(await Ask(new ListNodes("r1")));

        var started = DateTimeOffset.UtcNow;
        var refused = Assert.IsType<CommandRejected>(await Ask(new ListNodes("r2")));

        Assert.Equal(RejectCode.Unavailable, refused.Code);
        Assert.True(DateTimeOffset.UtcNow - started < TimeSpan.FromSeconds(1), "a manager that has known no leader for seconds made the request wait again");
        Assert.True(_view.LeaderlessFor >= ManagerApiActor.LeaderWait);
    }

    [Fact]
    public async Task The_Wait_Counts_From_When_A_Leader_Was_Last_Known()
    {
        Assert.IsType<CommandRejected>(await Ask(new ListNodes("r1")));
        _view.Update(LeaderRaftId, 3, [_view.RaftId, LeaderRaftId], []);
        Assert.Equal(TimeSpan.Zero, _view.LeaderlessFor);

        _view.Update(0, 4, [_view.RaftId, LeaderRaftId], []); // the leader is lost again: a new election
        var asked = Ask(new ListNodes("r2"));
        await Task.Delay(300);
        Assert.False(asked.IsCompleted, "a request right after the leader was lost was refused without waiting for an election");

        _view.Update(LeaderRaftId, 4, [_view.RaftId, LeaderRaftId], []);
        Assert.IsType<NodeList>(await asked);
    }

    [Fact]
    public async Task A_Read_Whose_Answer_Was_Lost_Is_Asked_Again_And_Answered()
    {
        _readAnswersLost = 1;
        _view.Update(LeaderRaftId, 2, [_view.RaftId, LeaderRaftId], []);
        var watch = Stopwatch.StartNew();

        var list = Assert.IsType<NodeList>(await Ask(new ListNodes("r1")));

        Assert.Empty(list.Nodes);
        Assert.Equal(2, _readsSeen);
        Assert.InRange(watch.Elapsed, ManagerApiActor.ReadRelayTimeout - TimerGranularity, ManagerApiActor.ReadRelayTimeout + TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task A_Read_Never_Answered_Is_Refused_After_Its_Attempts_And_A_Command_Is_Sent_Once()
    {
        _readAnswersLost = int.MaxValue;
        _view.Update(LeaderRaftId, 2, [_view.RaftId, LeaderRaftId], []);

        var refused = Assert.IsType<CommandRejected>(await Ask(new ListNodes("r1")));
        var command = Ask(new UpdateNode("r2", "self", NodeAvailability.Drain, System.Collections.Immutable.ImmutableSortedDictionary<string, string>.Empty, []));
        await Task.Delay(ManagerApiActor.ReadRelayTimeout + TimeSpan.FromSeconds(1));

        Assert.Equal(RejectCode.Unavailable, refused.Code);
        Assert.Contains($"no answer within {(ManagerApiActor.ReadRelayTimeout * ManagerApiActor.ReadRelayAttempts).TotalSeconds:0.#} s", refused.Reason, StringComparison.Ordinal);
        Assert.Equal(ManagerApiActor.ReadRelayAttempts, _readsSeen);
        Assert.False(command.IsCompleted);
        Assert.Equal(1, _commandsSeen);
    }

    private Task<object> Ask(object message) => _system.Root.RequestAsync<object>(_api, message, TestTimeout.Token);
}
