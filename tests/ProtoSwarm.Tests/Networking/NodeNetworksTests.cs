using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using ProtoSwarm.Actors.Agent.Networks;
using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Runtime;
using ProtoSwarm.Networking.Namespaces;
using ProtoSwarm.Networking.Overlay;

namespace ProtoSwarm.Tests.Networking;

/// <summary>
/// The node host's overlays (<see cref="NodeNetworks"/>) on a simulated host of <see cref="OverlayLab"/>:
/// real namespaces and devices, nothing made in the test process's own namespace but the tasks'
/// namespaces (files under a directory of the test's own).
/// </summary>
[Trait("Category", "Privileged")]
public sealed class NodeNetworksTests : IAsyncLifetime
{
    private const string NetA = "aaaa1111bbbb2222cccc3333";
    private const string NetB = "dddd4444eeee5555ffff6666";

    private OverlayLab _lab = null!;
    private string _host = null!;
    private string _tasks = null!;
    private NodeNetworks _node = null!;

    public async Task InitializeAsync()
    {
        _lab = OverlayLab.Create();
        (_host, _) = await _lab.TwoHostsAsync();
        _tasks = $"{_lab.Directory}-tasks";
        _node = NewNode();
    }

    public async Task DisposeAsync()
    {
        await _node.DisposeAsync();
        if (Directory.Exists(_tasks))
        {
            foreach (var path in Directory.EnumerateFiles(_tasks))
            {
                NetworkNamespace.Delete(path);
            }

            NetworkNamespace.ReleaseDirectory(_tasks);
        }

        await _lab.DisposeAsync();
    }

    [Fact]
    public async Task A_Network_Made_With_The_Vni_Of_One_Removed_Replaces_It_Though_A_Task_Still_Holds_An_Interface_On_It()
    {
        await _node.ApplyAsync(Full(View(NetA, 4300)), default);
        var stale = Task("t-stale", NetA, "10.251.0.2/24");
        await _node.AttachTaskAsync(stale, default);

        // The managers removed network A (its task is going) and gave its VXLAN id to B at once.
        await _node.ApplyAsync(Full(View(NetB, 4300)), default);

        var fresh = await _node.AttachTaskAsync(Task("t-fresh", NetB, "10.251.0.2/24"), default);
        var vxlan = await OverlayLab.InAsync(Path.Combine(_lab.SandboxDirectory("nodeA"), NetB), n => n.GetLink(OverlayNames.Vxlan(NetB)));
        Assert.Equal(4300u, vxlan!.Vxlan!.Vni);
        Assert.False(File.Exists(Path.Combine(_lab.SandboxDirectory("nodeA"), NetA)));
        Assert.True((await OverlayLab.InAsync(fresh!.NetnsPath, n => n.GetLink("eth0")))!.Up);

        // The stale task's end then removes what is left of it, and nothing of the new one.
        await _node.DetachTaskAsync(stale.Id, default);
        Assert.False(File.Exists(Path.Combine(_tasks, stale.Id)));
        Assert.True(File.Exists(fresh.NetnsPath));
    }

    [Fact]
    public async Task A_Detached_Task_Leaves_No_Namespace_Or_Interface_And_A_New_Task_Takes_Its_Address_At_Once()
    {
        await _node.ApplyAsync(Full(View(NetA, 4301)), default);
        var first = await _node.AttachTaskAsync(Task("t-first", NetA, "10.251.0.2/24"), default);
        Assert.True(File.Exists(first!.NetnsPath));

        await _node.DetachTaskAsync("t-first", default);
        await _node.DetachTaskAsync("t-first", default);

        Assert.False(File.Exists(first.NetnsPath));
        var onNode = await OverlayLab.InAsync(_host, n => n.ListLinks());
        Assert.DoesNotContain(onNode, l => OverlayNames.ParseAlias(l.Alias) is { TaskKey: "t-first" });
        var second = await _node.AttachTaskAsync(Task("t-second", NetA, "10.251.0.2/24"), default);
        var eth0 = await OverlayLab.InAsync(second!.NetnsPath, n => n.GetLink("eth0"));
        Assert.True(eth0!.Up);
    }

    [Fact]
    public async Task A_Task_Whose_Network_Is_Removed_While_It_Waits_To_Attach_Waits_For_The_Network_To_Come_Back()
    {
        await _node.ApplyAsync(Full(View(NetA, 4302)), default);

        // The node's last task on A ended and the managers dropped A; a new task on A arrives in the next message.
        var removing = _node.ApplyAsync(Full(), default);
        var attaching = _node.AttachTaskAsync(Task("t-new", NetA, "10.251.0.3/24"), default);
        var readding = _node.ApplyAsync(Full(View(NetA, 4302)), default);
        await removing;
        await readding;

        var sandbox = await attaching.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.NotNull(await OverlayLab.InAsync(sandbox!.NetnsPath, n => n.GetLink("eth0")));
    }

    [Fact]
    public async Task A_Network_Overlapping_The_Nodes_Address_Is_Not_Made_Its_Tasks_Are_Refused_And_One_Made_Before_Goes_At_Start()
    {
        var underlap = new NetworkView(NetA, "underlap", 4303, $"10.250.{_lab.Subnet}.0/25", $"10.250.{_lab.Subnet}.1");

        await _node.ApplyAsync(Full(underlap), default);

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => _node.AttachTaskAsync(Task("t-under", NetA, $"10.250.{_lab.Subnet}.5/25"), default));
        Assert.Contains($"network underlap (10.250.{_lab.Subnet}.0/25) overlaps this node's address 10.250.{_lab.Subnet}.1/24", refused.Message, StringComparison.Ordinal);
        var routes = await OverlayLab.InAsync(_host, n => n.ListRoutes());
        Assert.DoesNotContain(routes, r => r.Destination.Equals(IPNetwork.Parse($"10.250.{_lab.Subnet}.0/25")));
        Assert.DoesNotContain(await OverlayLab.InAsync(_host, n => n.ListLinks()), l => l.Name == OverlayNames.Gateway(NetA));

        // Made as it was before nodes refused such networks: the node host's next start removes it.
        var before = _lab.Overlay("nodeA", _host);
        await before.EnsureNetworkAsync(underlap, _lab.Underlay(1));
        Assert.Contains(await OverlayLab.InAsync(_host, n => n.ListLinks()), l => l.Name == OverlayNames.Gateway(NetA));
        await using var restarted = NewNode();
        await restarted.SweepAtStartAsync(default);
        Assert.DoesNotContain(await OverlayLab.InAsync(_host, n => n.ListLinks()), l => l.Name == OverlayNames.Gateway(NetA));
        Assert.DoesNotContain(await OverlayLab.InAsync(_host, n => n.ListRoutes()), r => r.Destination.Equals(IPNetwork.Parse($"10.250.{_lab.Subnet}.0/25")));
    }

    private NodeNetworks NewNode() =>
        new("nodeA", () => _lab.Underlay(1).ToString(), _tasks, _lab.SandboxDirectory("nodeA"), NullLoggerFactory.Instance, _host);

    private static NetworkChanges Full(params NetworkView[] views) => new(true, [.. views], []);

    private static NetworkView View(string id, uint vni) => OverlayLab.View(id, vni);

    private static TaskObject Task(string id, string networkId, string address) =>
        new(id, ObjectMeta.New(DateTimeOffset.UtcNow), "svc", 1, "nodeA", new TaskSpec(new ContainerSpec("busybox:1")), 1, TaskState.Running,
            new TaskObservedStatus(TaskState.Preparing, DateTimeOffset.UtcNow), Networks: [new AttachedNetwork(networkId, address)]);
}
