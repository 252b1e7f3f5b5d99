using System.Threading.Channels;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Contracts;
using ProtoSwarm.Tests.Nodes;

namespace ProtoSwarm.Tests.Store;

public class SwarmStoreTests
{
    [Fact]
    public async Task Watch_Replays_Events_After_The_Index_In_Order_Then_Delivers_New_Ones()
    {
        var store = new SwarmStore(StoreState.Empty);
        for (var i = 1; i <= 5; i++)
        {
            Commit(store, StoreChange.Create(TestNodes.Worker($"n{i}")));
        }

        using var cts = new CancellationTokenSource(TestTimeout.Span);
        var watch = store.Watch(afterIndex: 2, cts.Token);
        Commit(store, StoreChange.Create(TestNodes.Worker("n6")), StoreChange.Create(TestNodes.Worker("n7")));

        var seen = await Take(watch, 5, cts.Token);
        Assert.Equal([3UL, 4, 5, 6, 6], seen.Select(e => e.Index));
        Assert.Equal(["n3", "n4", "n5", "n6", "n7"], seen.Select(e => e.Id));
    }

    [Fact]
    public async Task Watch_From_The_Current_Index_Delivers_Only_New_Events()
    {
        var store = new SwarmStore(StoreState.Empty);
        Commit(store, StoreChange.Create(TestNodes.Worker("old")));

        using var cts = new CancellationTokenSource(TestTimeout.Span);
        var watch = store.Watch(store.Current.Index, cts.Token);
        Assert.False(watch.TryRead(out _));
        Commit(store, StoreChange.Create(TestNodes.Worker("new")));

        Assert.Equal("new", (await watch.ReadAsync(cts.Token)).Id);
    }

    [Fact]
    public async Task Cancelling_A_Watch_Completes_It()
    {
        var store = new SwarmStore(StoreState.Empty);
        using var cts = new CancellationTokenSource();
        var watch = store.Watch(0, cts.Token);

        await cts.CancelAsync();
        Commit(store, StoreChange.Create(TestNodes.Worker("after")));

        Assert.False(await watch.WaitToReadAsync(TestTimeout.Token));
    }

    [Fact]
    public void Watch_From_Before_The_Retained_Events_Throws_Compacted()
    {
        var store = new SwarmStore(StoreState.Empty);
        for (var i = 0; i <= SwarmStore.RetainedEvents; i++)
        {
            Commit(store, StoreChange.Create(TestNodes.Worker($"n{i}")));
        }

        var e = Assert.Throws<StoreCompactedException>(() => store.Watch(0, CancellationToken.None));
        Assert.Contains("list the objects again", e.Message, StringComparison.Ordinal);
        _ = store.Watch(1, CancellationToken.None);
    }

    [Fact]
    public void Watch_Of_A_Restored_Store_From_Before_Its_Index_Throws_Compacted()
    {
        var store = new SwarmStore(StoreState.Restore(7, [TestNodes.Worker("a", version: 7)]));

        Assert.Throws<StoreCompactedException>(() => store.Watch(3, CancellationToken.None));
        _ = store.Watch(7, CancellationToken.None);
    }

    [Fact]
    public void Watch_Throws_Compacted_When_Only_Part_Of_An_Index_Is_Still_Retained()
    {
        // Index 1 wrote two objects; one more event than is retained pushes out the first of them.
        var store = new SwarmStore(StoreState.Empty);
        Commit(store, StoreChange.Create(TestNodes.Worker("first")), StoreChange.Create(TestNodes.Worker("second")));
        for (var i = 1; i < SwarmStore.RetainedEvents; i++)
        {
            Commit(store, StoreChange.Create(TestNodes.Worker($"n{i}")));
        }

        Assert.Throws<StoreCompactedException>(() => store.Watch(0, CancellationToken.None));
    }

    [Fact]
    public void Publish_Refuses_A_State_That_Does_Not_Move_The_Index_Forward()
    {
        var store = new SwarmStore(StoreState.Empty);
        Commit(store, StoreChange.Create(TestNodes.Worker("a")));

        Assert.Throws<InvalidOperationException>(() => store.Publish(StoreState.Empty, []));
    }

    private static void Commit(SwarmStore store, params StoreChange[] changes)
    {
        var current = store.Current;
        var next = current.Apply(current.Index + 1, changes, TestNodes.T0, out var events);
        store.Publish(next, events);
    }

    private static async Task<List<StoreEvent>> Take(ChannelReader<StoreEvent> reader, int count, CancellationToken ct)
    {
        var result = new List<StoreEvent>();
        while (result.Count < count)
        {
            result.Add(await reader.ReadAsync(ct));
        }

        return result;
    }
}
