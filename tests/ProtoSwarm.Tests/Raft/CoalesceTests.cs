using System.Collections.Immutable;
using ProtoSwarm.Actors.Raft;
using ProtoSwarm.Raft;

namespace ProtoSwarm.Tests.Raft;

public class CoalesceTests
{
    private static Message Append(ulong to, ulong prevIndex, ulong prevTerm, ulong commit, params ulong[] indexes) =>
        new(MessageType.Append, to, 1, 2, prevTerm, prevIndex, [.. indexes.Select(i => new Entry(i, 2, EntryType.Normal, [1, 2, 3]))], commit, null, false, 0, null);

    private static Message Heartbeat(ulong to) => new(MessageType.Heartbeat, to, 1, 2, 0, 0, [], 0, null, false, 0, null);

    [Fact]
    public void Consecutive_Appends_To_One_Follower_Travel_As_One_With_The_Later_Commit()
    {
        var merged = RaftActor.Coalesce([Append(2, 10, 2, 9, 11), Append(3, 10, 2, 9, 11), Append(2, 11, 2, 10, 12), Append(3, 11, 2, 10, 12)]);

        Assert.Equal(2, merged.Count);
        Assert.Equal([11UL, 12UL], merged[0].Entries.Select(e => e.Index));
        Assert.Equal((10UL, 2UL, 10UL), (merged[0].Index, merged[0].LogTerm, merged[0].Commit));
        Assert.Equal(3UL, merged[1].To);
    }

    [Fact]
    public void Appends_Are_Not_Merged_Across_Another_Message_To_The_Same_Follower_Or_A_Gap()
    {
        var separated = RaftActor.Coalesce([Append(2, 10, 2, 9, 11), Heartbeat(2), Append(2, 11, 2, 10, 12)]);
        var gap = RaftActor.Coalesce([Append(2, 10, 2, 9, 11), Append(2, 12, 2, 10, 13)]);

        Assert.Equal(3, separated.Count);
        Assert.Equal(2, gap.Count);
    }

    [Fact]
    public void Merging_Stops_At_The_Size_Limit()
    {
        var merged = RaftActor.Coalesce([Append(2, 10, 2, 9, 11), Append(2, 11, 2, 9, 12), Append(2, 12, 2, 9, 13)], maxBytes: 6);

        Assert.Equal([2, 1], merged.Select(m => m.Entries.Length));
    }
}
