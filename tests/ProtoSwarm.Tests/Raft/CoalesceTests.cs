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

    [Fact]
    public void A_Commit_Only_Append_Rides_On_The_Next_Append_To_That_Follower()
    {
        // The commit moved to 10 (an append without entries), then new proposals were appended.
        var merged = RaftActor.Coalesce([Append(2, 10, 2, 10), Append(3, 10, 2, 10), Append(2, 10, 2, 9, 11, 12), Append(3, 10, 2, 9, 11, 12)]);

        Assert.Equal(2, merged.Count);
        Assert.All(merged, m => Assert.Equal([11UL, 12UL], m.Entries.Select(e => e.Index)));
        Assert.All(merged, m => Assert.Equal((10UL, 2UL, 10UL), (m.Index, m.LogTerm, m.Commit)));
        Assert.Equal([2UL, 3UL], merged.Select(m => m.To));
    }

    [Fact]
    public void A_Commit_Only_Append_After_The_Entries_Only_Raises_Their_Commit()
    {
        var merged = RaftActor.Coalesce([Append(2, 10, 2, 9, 11, 12), Append(2, 12, 2, 12)]);

        Assert.Equal((10UL, 12UL), (merged.Single().Index, merged.Single().Commit));
        Assert.Equal([11UL, 12UL], merged.Single().Entries.Select(e => e.Index));
    }

    [Fact]
    public void A_Commit_Only_Append_Is_Kept_When_The_Next_Append_Starts_Elsewhere()
    {
        // A probe that was refused starts lower: the follower must see both.
        var kept = RaftActor.Coalesce([Append(2, 10, 2, 10), Append(2, 8, 2, 10, 9, 10, 11)]);
        var otherTerm = RaftActor.Coalesce([Append(2, 10, 1, 10), Append(2, 10, 2, 10, 11)]);

        Assert.Equal(2, kept.Count);
        Assert.Equal(2, otherTerm.Count);
    }
}
