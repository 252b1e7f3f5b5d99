using ProtoSwarm.Hosting.Options;
using ProtoSwarm.Hosting.Runtime;
using ProtoSwarm.Tests.Store;

namespace ProtoSwarm.Tests.Hosting;

public sealed class RaftSealingTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_Fresh_State_Directory_Gets_Root_Only_Keys_And_Keeps_The_Same_Data_Key_Until_It_Is_Forgotten()
    {
        var options = new NodeOptions { StateDir = _dir.Path };
        RaftSealing.DeleteDataKey(options);

        byte[] first;
        using (var sealer = RaftSealing.OpenSealer(options, unlockKey: null))
        {
            first = sealer.KeyId;
        }

        using (var again = RaftSealing.OpenSealer(options, unlockKey: null))
        {
            Assert.Equal(first, again.KeyId);
        }

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(options.NodeKeyPath));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(options.RaftDataKeyPath));

        RaftSealing.DeleteDataKey(options);
        using var fresh = RaftSealing.OpenSealer(options, unlockKey: null);
        Assert.NotEqual(first, fresh.KeyId);
        Assert.True(File.Exists(options.NodeKeyPath), "the node's key outlives the data key");
    }
}
