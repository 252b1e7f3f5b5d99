using System.Text;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Contracts;
using ProtoSwarm.Tests.Store;

namespace ProtoSwarm.Tests.Hosting;

/// <summary>
/// A one-manager swarm whose state directory is a small tmpfs that fills up: its Raft member stops and says why,
/// the node host says it is restarting and why, and once there is room again the manager takes writes, with
/// every write acknowledged before still there.
/// </summary>
public sealed class RaftWriteFailureRestartTests : IDisposable
{
    private readonly SmallTmpfs _disk = new("16m");

    public void Dispose() => _disk.Dispose();

    [Fact]
    public async Task The_Manager_Says_Why_It_Stopped_And_Takes_Writes_Again_Once_The_Disk_Has_Room()
    {
        await using var swarm = await InProcessSwarm.StartAsync("full", stateDir: _disk.Path);
        var acknowledged = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            acknowledged.Add(Assert.IsType<ConfigCreated>(await CreateAsync(swarm, $"before{i}")).ConfigId);
        }

        _disk.Fill();
        CommandRejected? refused = null;
        for (var i = 0; i < 100 && refused is null; i++)
        {
            switch (await CreateAsync(swarm, $"full{i}", padding: 4000))
            {
                case ConfigCreated created:
                    acknowledged.Add(created.ConfigId);
                    break;
                case CommandRejected rejected:
                    refused = rejected;
                    break;
            }
        }

        Assert.NotNull(refused);
        Assert.Contains("Raft member stopped: the file system of its log", refused.Reason, StringComparison.Ordinal);
        Assert.Contains("is full", refused.Reason, StringComparison.Ordinal);
        var info = Assert.IsType<NodeInfoSnapshot>(await swarm.Runtime.HandleAsync(new GetInfo("i"), TestTimeout.Token));
        Assert.Equal("active", info.LocalNodeState);
        Assert.StartsWith("its swarm member ", info.Note, StringComparison.Ordinal);
        Assert.Contains($"the file system of its log {Path.Combine(_disk.Path, "raft.db")} is full", info.Note, StringComparison.Ordinal);

        _disk.Free();
        string? after = null;
        await Poll.Until(
            async () => (after ??= (await CreateAsync(swarm, "after") as ConfigCreated)?.ConfigId) is not null,
            "a write succeeds once the disk has room again",
            TimeSpan.FromSeconds(60));

        var listed = Assert.IsType<ConfigList>(await swarm.Runtime.HandleAsync(new ListConfigs("l"), TestTimeout.Token));
        Assert.All(acknowledged.Append(after!), id => Assert.Contains(listed.Configs, c => c.Id == id));
    }

    private static Task<object> CreateAsync(InProcessSwarm swarm, string name, int padding = 0) =>
        swarm.Runtime.HandleAsync(new CreateConfig(SwarmIds.NewRequestId(), new ConfigSpec(name, null, Encoding.UTF8.GetBytes(new string('x', padding + 1)))), TestTimeout.Token);
}
