using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Contracts;

namespace ProtoSwarm.Tests.Hosting;

/// <summary>
/// What the node host answers itself for `network ls` and `network inspect`: its local networks, and the swarm's networks
/// it has (a worker's, from its views); a node without real containers makes no overlay and has none.
/// </summary>
public sealed class NodeNetworkQueriesTests : IAsyncLifetime
{
    private InProcessSwarm _swarm = null!;

    public async Task InitializeAsync() => _swarm = await InProcessSwarm.StartAsync("netq-1");

    public async Task DisposeAsync() => await _swarm.DisposeAsync();

    [Fact]
    public async Task The_Node_Answers_For_Its_Local_Networks_And_The_Overlays_It_Has_Without_Asking_The_Managers()
    {
        var local = await _swarm.Runtime.HandleAsync(new ListLocalNetworks("l1"), TestTimeout.Token);
        var overlays = await _swarm.Runtime.HandleAsync(new ListNodeOverlays("o1"), TestTimeout.Token);

        Assert.Equal(["bridge", "host", "none"], Assert.IsType<LocalNetworkList>(local).Networks.Select(n => n.Name));
        Assert.Empty(Assert.IsType<NodeOverlayList>(overlays).Networks);
    }
}
