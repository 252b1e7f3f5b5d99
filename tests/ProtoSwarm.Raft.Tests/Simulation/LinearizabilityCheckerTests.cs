using ProtoSwarm.Raft.Tests.Simulation.Linearizability;

namespace ProtoSwarm.Raft.Tests.Simulation;

public class LinearizabilityCheckerTests
{
    private const long Pending = long.MaxValue;

    private static TimedOperation<KvOperation> Put(int client, string key, string value, long call, long ret) =>
        new(new KvOperation(client, KvOpKind.Put, key, value, null, ret == Pending), call, ret);

    private static TimedOperation<KvOperation> Append(int client, string key, string value, long call, long ret) =>
        new(new KvOperation(client, KvOpKind.Append, key, value, null, ret == Pending), call, ret);

    private static TimedOperation<KvOperation> Get(int client, string key, string output, long call, long ret) =>
        new(new KvOperation(client, KvOpKind.Get, key, "", output), call, ret);

    private static void AssertLinearizable(params TimedOperation<KvOperation>[] history)
    {
        var result = KvModel.Check(history);
        Assert.True(result.IsLinearizable, KvModel.Describe(result));
    }

    private static LinearizabilityResult<KvOperation> AssertNotLinearizable(params TimedOperation<KvOperation>[] history)
    {
        var result = KvModel.Check(history);
        Assert.Equal(LinearizabilityVerdict.NotLinearizable, result.Verdict);
        return result;
    }

    [Fact]
    public void Empty_History_Is_Linearizable() => AssertLinearizable();

    [Fact]
    public void Sequential_Put_Then_Get_Is_Linearizable() =>
        AssertLinearizable(Put(1, "x", "a", 0, 1), Get(2, "x", "a", 2, 3));

    [Fact]
    public void Get_Of_A_Missing_Key_Sees_Empty() =>
        AssertLinearizable(Get(1, "x", "", 0, 1), Put(1, "x", "a", 2, 3));

    [Fact]
    public void Stale_Read_After_A_Completed_Put_Is_Not_Linearizable()
    {
        // put(x,b) finished before the get began, yet the get returned the older value: a stale read,
        // what a deposed leader serving reads from its own state would produce.
        var result = AssertNotLinearizable(
            Put(1, "x", "a", 0, 1),
            Put(1, "x", "b", 2, 3),
            Get(2, "x", "a", 4, 5));
        Assert.Equal("x", result.Partition);
    }

    [Fact]
    public void Read_Concurrent_With_A_Put_May_See_Either_Value()
    {
        AssertLinearizable(Put(1, "x", "a", 0, 1), Put(1, "x", "b", 2, 6), Get(2, "x", "a", 3, 4));
        AssertLinearizable(Put(1, "x", "a", 0, 1), Put(1, "x", "b", 2, 6), Get(2, "x", "b", 3, 4));
    }

    [Fact]
    public void Two_Reads_May_Not_See_A_Concurrent_Put_In_Opposite_Orders()
    {
        // Read 1 saw the new value and finished; read 2 started later and saw the old one.
        AssertNotLinearizable(
            Put(1, "x", "a", 0, 1),
            Put(1, "x", "b", 2, 20),
            Get(2, "x", "b", 3, 4),
            Get(3, "x", "a", 5, 6));
    }

    [Fact]
    public void Value_Never_Written_Is_Not_Linearizable() =>
        AssertNotLinearizable(Put(1, "x", "a", 0, 1), Get(2, "x", "z", 0, 5));

    [Fact]
    public void Pending_Put_May_Take_Effect_Late_Or_Never()
    {
        // The put's answer was lost: it may have been applied any time after its call...
        AssertLinearizable(Put(1, "x", "a", 0, 1), Put(2, "x", "b", 2, Pending), Get(3, "x", "a", 3, 4), Get(3, "x", "b", 10, 11));

        // ...or never.
        AssertLinearizable(Put(1, "x", "a", 0, 1), Put(2, "x", "b", 2, Pending), Get(3, "x", "a", 30, 31));
    }

    [Fact]
    public void Pending_Put_Cannot_Take_Effect_Before_Its_Call() =>
        AssertNotLinearizable(Get(3, "x", "b", 0, 1), Put(2, "x", "b", 2, Pending));

    [Fact]
    public void Pending_Put_Once_Seen_Cannot_Be_Unseen() =>
        AssertNotLinearizable(
            Put(1, "x", "a", 0, 1),
            Put(2, "x", "b", 2, Pending),
            Get(3, "x", "b", 3, 4),
            Get(3, "x", "a", 5, 6));

    [Fact]
    public void Appends_Are_Ordered_And_Each_Applied_Once()
    {
        AssertLinearizable(
            Append(1, "x", "a", 0, 10),
            Append(2, "x", "b", 0, 10),
            Get(3, "x", "ba", 11, 12));
        AssertNotLinearizable(
            Append(1, "x", "a", 0, 1),
            Append(2, "x", "b", 2, 3),
            Get(3, "x", "ba", 4, 5));
        AssertNotLinearizable(
            Append(1, "x", "a", 0, 1),
            Get(3, "x", "aa", 4, 5));
    }

    [Fact]
    public void Keys_Are_Checked_Independently_And_The_Bad_Key_Is_Named()
    {
        var result = AssertNotLinearizable(
            Put(1, "x", "a", 0, 1),
            Get(2, "x", "a", 2, 3),
            Put(1, "y", "a", 0, 1),
            Put(1, "y", "b", 2, 3),
            Get(2, "y", "a", 4, 5));
        Assert.Equal("y", result.Partition);
        Assert.Contains("get(y)", KvModel.Describe(result), StringComparison.Ordinal);
    }

    [Fact]
    public void Unanswered_Get_Is_Dropped() =>
        AssertLinearizable(
            Put(1, "x", "a", 0, 1),
            new TimedOperation<KvOperation>(new KvOperation(2, KvOpKind.Get, "x", "", null, Unknown: true), 2, Pending));

    [Fact]
    public void Many_Concurrent_Writers_Are_Checked_Quickly()
    {
        // 60 writers all concurrent, then one read: the memo keeps this from being 60! orders.
        var history = new List<TimedOperation<KvOperation>>();
        for (var i = 0; i < 60; i++)
        {
            history.Add(Append(i, "x", "v", 0, 100));
        }

        history.Add(Get(99, "x", new string('v', 60), 101, 102));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        AssertLinearizable([.. history]);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"took {sw.Elapsed}");
    }

    [Fact]
    public void Interleaved_Clients_Over_Time_Are_Linearizable()
    {
        // A realistic shape: sequential clients, overlapping with each other.
        AssertLinearizable(
            Put(1, "x", "1", 0, 5),
            Get(2, "x", "", 1, 2),
            Get(2, "x", "1", 3, 7),
            Append(3, "x", "2", 4, 9),
            Get(1, "x", "12", 8, 10),
            Put(2, "x", "3", 8, 12),
            Get(3, "x", "3", 13, 14));
    }
}
