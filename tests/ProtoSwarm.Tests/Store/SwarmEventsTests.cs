using System.Collections.Immutable;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Cli;

namespace ProtoSwarm.Tests.Store;

public class SwarmEventsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 5, 40, 0, TimeSpan.Zero);

    private StoreState _state = StoreState.Empty;
    private readonly SwarmEventTracker _tracker = new();

    [Fact]
    public void Create_Update_And_Remove_Of_Each_Kind_Are_Docker_Events_With_Its_Name_And_Scope_Swarm()
    {
        var objects = new (IStoreObject Object, string Name, Func<IStoreObject, StoreChange> Create, Func<IStoreObject, StoreChange> Update, Func<IStoreObject, StoreChange> Delete)[]
        {
            (CliHarness.Service(), "web", o => StoreChange.Create((ServiceObject)o), o => StoreChange.Update((ServiceObject)o), o => StoreChange.Delete((ServiceObject)o)),
            (CliHarness.Node("node1", "worker-1"), "worker-1", o => StoreChange.Create((NodeObject)o), o => StoreChange.Update((NodeObject)o), o => StoreChange.Delete((NodeObject)o)),
            (Secret("sec1", "db-pass"), "db-pass", o => StoreChange.Create((SecretObject)o), o => StoreChange.Update((SecretObject)o), o => StoreChange.Delete((SecretObject)o)),
            (Config("cfg1", "app.conf"), "app.conf", o => StoreChange.Create((ConfigObject)o), o => StoreChange.Update((ConfigObject)o), o => StoreChange.Delete((ConfigObject)o)),
            (Network("net1", "backend"), "backend", o => StoreChange.Create((NetworkObject)o), o => StoreChange.Update((NetworkObject)o), o => StoreChange.Delete((NetworkObject)o)),
        };

        foreach (var (obj, name, create, update, delete) in objects)
        {
            var created = Assert.Single(Commit(T0, create(obj)));
            var stored = Current(obj);
            var updated = Assert.Single(Commit(T0.AddSeconds(5), update(stored)));
            var removed = Assert.Single(Commit(T0.AddSeconds(9), delete(Current(obj)), T0.AddSeconds(10)));

            Assert.Equal((obj.Kind, "create", obj.Id, "swarm"), (created.Type, created.Action, created.ActorId, created.Scope));
            Assert.Equal((obj.Kind, "update", obj.Id), (updated.Type, updated.Action, updated.ActorId));
            Assert.Equal((obj.Kind, "remove", obj.Id), (removed.Type, removed.Action, removed.ActorId));
            Assert.All([created, updated, removed], e => Assert.Equal(name, e.Attributes["name"]));
            Assert.Equal([Nanos(T0), Nanos(T0.AddSeconds(5))], [created.TimeNano, updated.TimeNano]);
            // The store keeps no time of a removal: it is when the manager saw it, as dockerd's time.Now().
            Assert.Equal(Nanos(T0.AddSeconds(10)), removed.TimeNano);
        }
    }

    [Fact]
    public void Tasks_And_The_Cluster_Make_No_Events()
    {
        Assert.Empty(Commit(T0, StoreChange.Create(CliHarness.Task("task1", 1))));
    }

    [Fact]
    public void A_Service_Update_Says_The_Old_And_New_Image_Replicas_And_Update_State_As_Docker()
    {
        Commit(T0, StoreChange.Create(CliHarness.Service()));
        var scaled = Current<ServiceObject>("svc000000000000000000web1") is var s
            ? s with { Spec = s.Spec with { Mode = ServiceMode.ReplicatedMode(5), TaskTemplate = new TaskSpec(new ContainerSpec("nginx:1.28")) }, UpdateStatus = CliHarness.Status(UpdateState.Updating, "") }
            : null!;
        var first = Assert.Single(Commit(T0.AddSeconds(1), StoreChange.Update(scaled)));
        var done = Current<ServiceObject>(scaled.Id) is var d ? d with { UpdateStatus = CliHarness.Status(UpdateState.Completed, "") } : null!;
        var second = Assert.Single(Commit(T0.AddSeconds(2), StoreChange.Update(done)));
        var same = Assert.Single(Commit(T0.AddSeconds(3), StoreChange.Update(Current<ServiceObject>(scaled.Id))));

        Assert.Equal(
            "image.new=nginx:1.28, image.old=nginx:1.27, name=web, replicas.new=5, replicas.old=3, updatestate.new=updating",
            Attributes(first));
        Assert.Equal("name=web, updatestate.new=completed, updatestate.old=updating", Attributes(second));
        Assert.Equal("name=web", Attributes(same));
    }

    [Fact]
    public void A_Node_Update_Says_The_Old_And_New_Availability_Role_State_Leadership_And_Reachability()
    {
        Commit(T0, StoreChange.Create(CliHarness.Node("node1", "m1", NodeRole.Manager, leader: true)));
        var node = Current<NodeObject>("node1");
        var changed = node with
        {
            Spec = node.Spec with { Availability = NodeAvailability.Drain },
            Status = node.Status with { State = NodeState.Down },
            ManagerStatus = node.ManagerStatus! with { Leader = false, Reachability = Reachability.Unreachable },
        };
        var e = Assert.Single(Commit(T0.AddSeconds(1), StoreChange.Update(changed)));
        var demoted = Current<NodeObject>("node1") is var n ? n with { Role = NodeRole.Worker } : null!;
        var role = Assert.Single(Commit(T0.AddSeconds(2), StoreChange.Update(demoted)));

        Assert.Equal(
            "availability.new=drain, availability.old=active, leader.new=false, leader.old=true, name=m1, reachability.new=unreachable, reachability.old=reachable, state.new=down, state.old=ready",
            Attributes(e));
        Assert.Equal("name=m1, role.new=worker, role.old=manager", Attributes(role));
    }

    [Fact]
    public void What_The_Store_Held_When_Seeded_Makes_No_Event_And_A_Snapshot_Is_Told_As_Its_Changes()
    {
        Commit(T0, [StoreChange.Create(CliHarness.Service()), StoreChange.Create(Secret("sec1", "old-secret"))]);
        _tracker.Seed(_state);
        var service = Current<ServiceObject>("svc000000000000000000web1");
        var snapshot = StoreState.Restore(_state.Index + 10,
        [
            service with { Meta = service.Meta with { Version = _state.Index + 5, UpdatedAt = T0.AddSeconds(3) }, Spec = service.Spec with { Mode = ServiceMode.ReplicatedMode(1) } },
            Config("cfg1", "new-config") with { Meta = new ObjectMeta(_state.Index + 6, T0.AddSeconds(4), T0.AddSeconds(4)) },
        ]);

        var events = _tracker.Resync(snapshot, T0.AddSeconds(9));

        Assert.Equal(
            ["service update svc000000000000000000web1 (name=web, replicas.new=1, replicas.old=3)", "config create cfg1 (name=new-config)", "secret remove sec1 (name=old-secret)"],
            events.Select(e => $"{e.Type} {e.Action} {e.ActorId} ({Attributes(e)})"));
    }

    private static long Nanos(DateTimeOffset at) => (at - DateTimeOffset.UnixEpoch).Ticks * 100;

    private static string Attributes(SwarmEvent e) => string.Join(", ", e.Attributes.Select(a => $"{a.Key}={a.Value}"));

    /// <summary>Commits the changes at <paramref name="at"/>; the events the tracker made of them, as seen at <paramref name="seenAt"/> (default: then).</summary>
    private List<SwarmEvent> Commit(DateTimeOffset at, StoreChange change, DateTimeOffset? seenAt = null) => Commit(at, [change], seenAt);

    private List<SwarmEvent> Commit(DateTimeOffset at, StoreChange[] changes, DateTimeOffset? seenAt = null)
    {
        _state = _state.Apply(_state.Index + 1, changes, at, out var events);
        return [.. events.Select(e => _tracker.Apply(e, seenAt ?? at)).OfType<SwarmEvent>()];
    }

    private IStoreObject Current(IStoreObject obj) => _state.All().Single(o => o.Kind == obj.Kind && o.Id == obj.Id);

    private T Current<T>(string id)
        where T : class, IStoreObject, IStoreKind => _state.Get<T>(id)!;

    private static SecretObject Secret(string id, string name) =>
        new(id, ObjectMeta.New(T0), new SecretSpec(name, ImmutableSortedDictionary<string, string>.Empty, [1, 2, 3]));

    private static ConfigObject Config(string id, string name) =>
        new(id, ObjectMeta.New(T0), new ConfigSpec(name, ImmutableSortedDictionary<string, string>.Empty, [1, 2, 3]));

    private static NetworkObject Network(string id, string name) =>
        new(id, ObjectMeta.New(T0), new NetworkSpec(name), "10.0.1.0/24", "10.0.1.1", 4097);
}
