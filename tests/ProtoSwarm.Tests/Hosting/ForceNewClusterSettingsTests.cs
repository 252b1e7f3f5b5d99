using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Runtime;
using ProtoSwarm.Tests.Contracts;

namespace ProtoSwarm.Tests.Hosting;

/// <summary>
/// `swarm init --force-new-cluster` with swarm settings: docker's init applies its spec on that path too, so
/// `--task-history-limit`, `--snapshot-interval` and `--autolock` given with it take effect on the kept swarm.
/// </summary>
public sealed class ForceNewClusterSettingsTests : IAsyncLifetime
{
    private InProcessSwarm _swarm = null!;

    public async Task InitializeAsync() => _swarm = await InProcessSwarm.StartAsync("forced-1");

    public async Task DisposeAsync() => await _swarm.DisposeAsync();

    [Fact]
    public async Task The_Task_History_Limit_Given_With_Force_New_Cluster_Is_Applied()
    {
        var ack = Assert.IsType<InitSwarmAck>(await _swarm.Runtime.HandleAsync(
            new InitSwarm(SwarmIds.NewRequestId(), "127.0.0.1", ForceNewCluster: true, TaskHistoryLimit: 2), TestTimeout.Token));
        Assert.Equal(string.Empty, ack.UnlockKey);

        var summary = Assert.IsType<SwarmSummary>(await _swarm.Runtime.HandleAsync(new GetSwarmSummary(SwarmIds.NewRequestId()), TestTimeout.Token));
        Assert.Equal(2, summary.TaskHistoryRetentionLimit);
    }

    [Fact]
    public async Task Force_New_Cluster_With_Autolock_Turns_It_On_And_Returns_The_Key()
    {
        var ack = Assert.IsType<InitSwarmAck>(await _swarm.Runtime.HandleAsync(
            new InitSwarm(SwarmIds.NewRequestId(), "127.0.0.1", ForceNewCluster: true, AutoLock: true), TestTimeout.Token));
        Assert.StartsWith("SWMKEY-", ack.UnlockKey, StringComparison.Ordinal);

        var summary = Assert.IsType<SwarmSummary>(await _swarm.Runtime.HandleAsync(new GetSwarmSummary(SwarmIds.NewRequestId()), TestTimeout.Token));
        Assert.True(summary.Security?.AutoLockManagers);
    }

    [Fact]
    public void Settings_Left_Out_Change_Nothing()
    {
        var cluster = new ClusterObject("default", new ObjectMeta(1, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch), "c1", "wt", "mt");
        Assert.Null(ForcedClusterSettings.Apply(cluster, new InitSwarm("r", null, ForceNewCluster: true)));
        var limited = ForcedClusterSettings.Apply(cluster, new InitSwarm("r", null, ForceNewCluster: true, SnapshotInterval: 500, TaskHistoryLimit: -1));
        Assert.Equal(500UL, limited!.SnapshotInterval);
        Assert.Equal(-1, limited.TaskHistoryLimit);
        Assert.False(limited.AutoLockManagers);
    }
}
