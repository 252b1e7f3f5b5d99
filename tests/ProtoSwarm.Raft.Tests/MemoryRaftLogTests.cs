using ProtoSwarm.Raft;
using static ProtoSwarm.Raft.Tests.ElectionTests;

namespace ProtoSwarm.Raft.Tests;

public class MemoryRaftLogTests
{
    private static MemoryRaftLog LogOf(params (ulong Index, ulong Term)[] entries)
    {
        var log = new MemoryRaftLog();
        log.Append([.. entries.Select(e => Entry(e.Index, e.Term, "x"))]);
        return log;
    }

    [Theory]
    [InlineData(4UL, new ulong[] { 3, 3 }, new ulong[] { 1, 2, 2, 3, 3 })] // append at the end
    [InlineData(2UL, new ulong[] { 4 }, new ulong[] { 1, 4 })]             // overwrite a suffix
    [InlineData(1UL, new ulong[] { 5, 5 }, new ulong[] { 5, 5 })]          // overwrite everything
    public void Append_Extends_Or_Replaces_The_Suffix(ulong from, ulong[] terms, ulong[] expectedTerms)
    {
        var log = LogOf((1, 1), (2, 2), (3, 2));
        log.Append([.. terms.Select((t, i) => Entry(from + (ulong)i, t))]);

        Assert.Equal(expectedTerms, Enumerable.Range(1, expectedTerms.Length).Select(i => log.Term((ulong)i)));
        Assert.Equal((ulong)expectedTerms.Length, log.LastIndex());
    }

    [Fact]
    public void Append_With_A_Gap_Is_Refused()
    {
        var log = LogOf((1, 1));
        Assert.Throws<InvalidOperationException>(() => log.Append([Entry(3, 1)]));
    }

    [Fact]
    public void Compact_Keeps_The_Term_Of_The_Compacted_Index_And_Refuses_Reads_Below()
    {
        var log = LogOf((1, 1), (2, 2), (3, 3), (4, 3));
        log.Compact(2);

        Assert.Equal((3UL, 4UL, 2UL), (log.FirstIndex(), log.LastIndex(), log.Term(2)));
        Assert.Throws<LogCompactedException>(() => log.Term(1));
        Assert.Throws<LogCompactedException>(() => log.Entries(2, 4, ulong.MaxValue));
        Assert.Throws<LogUnavailableException>(() => log.Term(5));
        Assert.Equal([3UL, 4], log.Entries(3, 5, ulong.MaxValue).Select(e => e.Index));
        Assert.Throws<LogCompactedException>(() => log.Compact(2));
        log.Append([Entry(1, 1), Entry(2, 2), Entry(3, 3), Entry(4, 3), Entry(5, 3)]); // compacted part skipped
        Assert.Equal(5UL, log.LastIndex());
    }

    [Fact]
    public void Entries_Are_Limited_By_Size_But_Always_Include_One()
    {
        var log = LogOf((1, 1), (2, 1), (3, 1));
        Assert.Single(log.Entries(1, 4, 0));
        Assert.Equal(2, log.Entries(1, 4, 2 * 25).Count);
        Assert.Equal(3, log.Entries(1, 4, ulong.MaxValue).Count);
    }

    [Fact]
    public void Snapshots_Move_Forward_Only()
    {
        var log = LogOf((1, 1), (2, 2), (3, 2));
        var members = new ConfState([1], []);
        var snapshot = log.CreateSnapshot(2, members, [1]);
        Assert.Equal((2UL, 2UL), (snapshot.Metadata.Index, snapshot.Metadata.Term));
        Assert.Throws<InvalidOperationException>(() => log.CreateSnapshot(2, members, []));
        Assert.Throws<InvalidOperationException>(() => log.CreateSnapshot(9, members, []));
        Assert.Throws<InvalidOperationException>(() => log.ApplySnapshot(snapshot));

        log.ApplySnapshot(new Snapshot(new SnapshotMetadata(10, 4, members), [2]));
        Assert.Equal((11UL, 10UL, 4UL), (log.FirstIndex(), log.LastIndex(), log.Term(10)));
        Assert.Equal(members, log.InitialState().ConfState);
    }
}
