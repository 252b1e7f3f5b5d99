using ProtoSwarm.Persistence;
using ProtoSwarm.Raft;

namespace ProtoSwarm.Tests.Store;

public sealed class RaftLogFileTests : IDisposable
{
    private readonly TempDir _dir = new();

    private string RaftPath => _dir.File("raft.db");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_Commit_Index_Saved_Without_Its_Own_Fsync_Is_Read_Back_With_The_Writes_Around_It()
    {
        using (var file = new RaftLogFile(RaftPath, sealer: null))
        {
            file.Save(null, [new Entry(1, 1, EntryType.Normal, [1])], new HardState(1, 1, 0));
            file.Save(null, [], new HardState(1, 1, 1), durable: false);
            file.Save(null, [new Entry(2, 1, EntryType.Normal, [2])], null);
        }

        using var reopened = new RaftLogFile(RaftPath, sealer: null);
        var disk = reopened.Load();
        Assert.Equal(new HardState(1, 1, 1), disk.HardState);
        Assert.Equal([1UL, 2UL], disk.Entries.Select(e => e.Index));
    }
}
