using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Nodes;

namespace ProtoSwarm.Tests.Store;

public class StoreStateTests
{
    private static readonly DateTimeOffset T1 = TestNodes.T0.AddMinutes(1);
    private static readonly DateTimeOffset T2 = TestNodes.T0.AddMinutes(2);

    [Fact]
    public void Create_Stores_The_Object_With_Version_And_Times_Of_The_Commit()
    {
        var state = StoreState.Empty.Apply(1, [StoreChange.Create(TestNodes.Worker("a", version: 0))], T1, out var events);

        var stored = state.Get<NodeObject>("a");
        Assert.NotNull(stored);
        Assert.Equal(new ObjectMeta(1, T1, T1), stored.Meta);
        Assert.Equal(1UL, state.Index);
        var e = Assert.Single(events);
        Assert.Equal((1UL, StoreEventKind.Created, NodeObject.StoreKind, "a"), (e.Index, e.Action, e.Kind, e.Id));
        Assert.Same(stored, e.Object);
    }

    [Fact]
    public void Update_Naming_The_Current_Version_Is_Applied_And_Keeps_CreatedAt()
    {
        var state = StoreState.Empty.Apply(1, [StoreChange.Create(TestNodes.Worker("a"))], T1, out _);
        var read = state.Get<NodeObject>("a")!;

        var next = state.Apply(5, [StoreChange.Update(read with { Spec = read.Spec with { Availability = NodeAvailability.Drain } })], T2, out var events);

        var stored = next.Get<NodeObject>("a")!;
        Assert.Equal(NodeAvailability.Drain, stored.Spec.Availability);
        Assert.Equal(new ObjectMeta(5, T1, T2), stored.Meta);
        Assert.Equal(StoreEventKind.Updated, Assert.Single(events).Action);
    }

    [Fact]
    public void Delete_Naming_The_Current_Version_Removes_The_Object()
    {
        var state = StoreState.Empty.Apply(1, [StoreChange.Create(TestNodes.Worker("a"))], T1, out _);

        var next = state.Apply(2, [StoreChange.Delete(state.Get<NodeObject>("a")!)], T2, out var events);

        Assert.Null(next.Get<NodeObject>("a"));
        Assert.Empty(next.List<NodeObject>());
        var e = Assert.Single(events);
        Assert.Equal(StoreEventKind.Deleted, e.Action);
        Assert.Equal("a", e.Object?.Id);
    }

    public static TheoryData<string, Func<StoreState, StoreChange>> RefusedChanges() => new()
    {
        { "create of an existing object", s => StoreChange.Create(TestNodes.Worker("a")) },
        { "update with an old version", s => StoreChange.Update(s.Get<NodeObject>("a")! with { Meta = new ObjectMeta(1, T1, T1) }) },
        { "update with a future version", s => StoreChange.Update(s.Get<NodeObject>("a")! with { Meta = new ObjectMeta(99, T1, T1) }) },
        { "update of a missing object", s => StoreChange.Update(TestNodes.Worker("missing", version: 2)) },
        { "delete with an old version", s => StoreChange.Delete(s.Get<NodeObject>("a")! with { Meta = new ObjectMeta(1, T1, T1) }) },
        { "delete of a missing object", s => StoreChange.Delete(TestNodes.Worker("missing", version: 2)) },
    };

    [Theory]
    [MemberData(nameof(RefusedChanges))]
    public void Stale_Change_Is_Refused_And_Nothing_Of_Its_Proposal_Applied(string what, Func<StoreState, StoreChange> refused)
    {
        // "a" at version 2, after a create at 1 and an update at 2.
        var state = StoreState.Empty.Apply(1, [StoreChange.Create(TestNodes.Worker("a"))], T1, out _);
        state = state.Apply(2, [StoreChange.Update(state.Get<NodeObject>("a")!)], T1, out _);
        var a = state.Get<NodeObject>("a")!;
        var proposal = new[]
        {
            StoreChange.Create(TestNodes.Worker("b")),
            StoreChange.Update(a with { Spec = a.Spec with { Availability = NodeAvailability.Pause } }),
            refused(state),
            StoreChange.Create(TestNodes.Worker("c")),
        };

        var e = Record.Exception(() => state.Apply(3, proposal, T2, out _));

        Assert.True(e is StoreConflictException, $"{what}: got {e?.GetType().Name ?? "no exception"}");
        Assert.Equal(2UL, state.Index);
        Assert.Equal(["a"], state.List<NodeObject>().Select(n => n.Id));
        Assert.Same(a, state.Get<NodeObject>("a"));
    }

    [Fact]
    public void Stale_Update_Message_Says_Which_Object_And_What_To_Do()
    {
        var state = StoreState.Empty.Apply(4, [StoreChange.Create(TestNodes.Worker("a"))], T1, out _);

        var e = Assert.Throws<StoreConflictException>(() => state.Apply(5, [StoreChange.Update(TestNodes.Worker("a", version: 3))], T2, out _));

        Assert.Contains("node a", e.Message, StringComparison.Ordinal);
        Assert.Contains("version 3, now 4", e.Message, StringComparison.Ordinal);
        Assert.Contains("retry", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_Object_Written_By_A_Proposal_Gets_Its_Index_As_Version()
    {
        var state = StoreState.Empty.Apply(1, [StoreChange.Create(TestNodes.Worker("a")), StoreChange.Create(TestNodes.Worker("b"))], T1, out _);

        state = state.Apply(7, [StoreChange.Update(state.Get<NodeObject>("b")!), StoreChange.Create(TestNodes.Cluster())], T2, out var events);

        Assert.Equal(1UL, state.Get<NodeObject>("a")!.Meta.Version);
        Assert.Equal(7UL, state.Get<NodeObject>("b")!.Meta.Version);
        Assert.Equal(7UL, state.Get<ClusterObject>(ClusterObject.DefaultId)!.Meta.Version);
        Assert.All(events, e => Assert.Equal(7UL, e.Index));
        Assert.Equal(3, state.All().Count());
    }

    [Fact]
    public void A_Proposal_May_Write_The_Same_Object_Twice_Naming_Its_Own_Version()
    {
        var state = StoreState.Empty.Apply(1, [StoreChange.Create(TestNodes.Worker("a"))], T1, out _);
        var a = state.Get<NodeObject>("a")!;

        state = state.Apply(2, [StoreChange.Delete(a), StoreChange.Create(a with { Spec = a.Spec with { Availability = NodeAvailability.Drain } })], T2, out var events);

        Assert.Equal(NodeAvailability.Drain, state.Get<NodeObject>("a")!.Spec.Availability);
        Assert.Equal([StoreEventKind.Deleted, StoreEventKind.Created], events.Select(e => e.Action));
    }

    [Theory]
    [InlineData(3UL)]
    [InlineData(2UL)]
    public void An_Index_Not_After_The_Current_One_Is_Refused(ulong index)
    {
        var state = StoreState.Empty.Apply(3, [StoreChange.Create(TestNodes.Worker("a"))], T1, out _);

        Assert.Throws<ArgumentOutOfRangeException>(() => state.Apply(index, [StoreChange.Create(TestNodes.Worker("b"))], T2, out _));
    }

    [Fact]
    public void Restore_Keeps_Versions_And_Index()
    {
        var restored = StoreState.Restore(9, [TestNodes.Worker("a", version: 4), TestNodes.Cluster() with { Meta = new ObjectMeta(9, T1, T1) }]);

        Assert.Equal(9UL, restored.Index);
        Assert.Equal(4UL, restored.Get<NodeObject>("a")!.Meta.Version);
        Assert.Equal(9UL, restored.Get<ClusterObject>(ClusterObject.DefaultId)!.Meta.Version);
    }
}
