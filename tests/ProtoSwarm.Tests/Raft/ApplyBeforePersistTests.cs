using System.Collections.Immutable;
using ProtoSwarm.Actors.Raft;
using ProtoSwarm.Raft;

namespace ProtoSwarm.Tests.Raft;

/// <summary>
/// When a Ready's committed entries may be applied (and their writers answered) while the Ready is
/// still being written: only entries already in the member's log file from earlier Readies.
/// </summary>
public class ApplyBeforePersistTests
{
    [Theory]
    // A leader under load: it appends 13-14 and commits 11-12, written by an earlier Ready.
    [InlineData(new ulong[] { 13, 14 }, new ulong[] { 11, 12 }, 12, false, false, true)]
    // At one writer: the commit alone, in a Ready with nothing else to write.
    [InlineData(new ulong[0], new ulong[] { 11, 12 }, 12, false, false, true)]
    // A lone voter commits what it appends in the same Ready: not written yet.
    [InlineData(new ulong[] { 11, 12 }, new ulong[] { 11, 12 }, 10, false, false, false)]
    [InlineData(new ulong[0], new ulong[] { 11, 12 }, 11, false, false, false)]
    // A follower's append that replaces a suffix reaching back into what is committed.
    [InlineData(new ulong[] { 12, 13 }, new ulong[] { 11, 12 }, 12, false, false, false)]
    // A membership change among the committed entries, or a snapshot in the Ready.
    [InlineData(new ulong[0], new ulong[] { 11, 12 }, 12, true, false, false)]
    [InlineData(new ulong[0], new ulong[] { 11, 12 }, 12, false, true, false)]
    [InlineData(new ulong[] { 13 }, new ulong[0], 12, false, false, false)]
    public void Only_Entries_Already_In_The_Log_File_Are_Applied_Before_The_Ready_Is_Written(
        ulong[] appending, ulong[] committed, ulong lastWritten, bool lastIsMembership, bool withSnapshot, bool early)
    {
        ImmutableArray<Entry> committedEntries = [.. committed.Select((index, i) =>
            new Entry(index, 2, lastIsMembership && i == committed.Length - 1 ? EntryType.ConfChange : EntryType.Normal, [1, 2, 3]))];
        var ready = new Ready(
            null,
            new HardState(2, 1, committed.LastOrDefault()),
            [.. appending.Select(index => new Entry(index, 2, EntryType.Normal, [1, 2, 3]))],
            withSnapshot ? new Snapshot(new SnapshotMetadata(20, 2, ConfState.Empty), [1]) : null,
            committedEntries,
            [],
            []);

        Assert.Equal(early, RaftActor.CanApplyBeforePersist(ready, lastWritten));
    }
}
