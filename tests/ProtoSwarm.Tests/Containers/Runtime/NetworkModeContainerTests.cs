using Microsoft.Extensions.Logging.Abstractions;
using ProtoSwarm.Containers.Images;
using ProtoSwarm.Containers.Runtime;
using ProtoSwarm.Containers.Volumes;
using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Runtime;
using ProtoSwarm.Tests.Networking;

namespace ProtoSwarm.Tests.Containers.Runtime;

// docker's host and none networks, run for real: a container on host is in its node's own network namespace (here a
// namespace the test made, standing for a lab node's, with its underlay address), with the node's hostname, /etc/hosts
// and resolvers; one on none has loopback alone. Neither gets a namespace of the node's networks.
[Collection(ContainerCollection.Name)]
[Trait("Category", "Privileged")]
public sealed class NetworkModeContainerTests(ContainerFixture fixture) : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("protoswarm-netmode-").FullName;
    private OverlayLab _lab = null!;
    private string _node = null!;
    private ImageStore _images = null!;
    private LinuxExecutor _executor = null!;

    public async Task InitializeAsync()
    {
        _lab = OverlayLab.Create();
        (_node, _) = await _lab.TwoHostsAsync();
        _images = await fixture.ImageStoreWithBusyboxAsync(Path.Combine(_dir, "images"), "busybox:netmode");
        var volumes = new VolumeStore(Path.Combine(_dir, "volumes"));
        var hosts = Path.Combine(_dir, "node-hosts");
        await File.WriteAllTextAsync(hosts, "127.0.0.1\tlocalhost\n10.250.0.9\tregistry.lab\n");
        _executor = new LinuxExecutor(() => _images, () => volumes, fixture.Options, NullLoggerFactory.Instance)
        {
            NodeNetns = _node,
            NodeHostname = "lab-w1",
            NodeHostsPath = hosts,
        };
    }

    public async Task DisposeAsync()
    {
        _images.Dispose();
        await _lab.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task A_Container_On_The_Host_Network_Sees_Its_Nodes_Interfaces_Hostname_And_Hosts_File()
    {
        var output = await RunAsync(NewTask("host", "ip -4 -o addr show; hostname; echo HOSTS; cat /etc/hosts"));

        Assert.Matches($@"ul0\s+inet {System.Text.RegularExpressions.Regex.Escape(_lab.Underlay(1).ToString())}/24", output);
        Assert.Contains("\nlab-w1\n", output, StringComparison.Ordinal);
        Assert.EndsWith("HOSTS\n127.0.0.1\tlocalhost\n10.250.0.9\tregistry.lab", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Container_On_The_Host_Network_Given_A_Hostname_Keeps_It()
    {
        var task = NewTask("host", "hostname");
        task = task with { Spec = task.Spec with { Container = task.Spec.Container with { Hostname = "box" } } };

        Assert.Equal("box", await RunAsync(task));
    }

    [Fact]
    public async Task A_Container_On_The_Host_Network_Of_This_Process_Sees_Its_Interfaces()
    {
        var own = new LinuxExecutor(() => _images, () => new VolumeStore(Path.Combine(_dir, "volumes")), fixture.Options, NullLoggerFactory.Instance);
        var mine = System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces().Select(i => i.Name).Order(StringComparer.Ordinal).ToList();

        var output = await RunAsync(NewTask("host", "ip -o link | cut -d: -f2 | cut -d@ -f1"), own);

        Assert.Equal(mine, output.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).Order(StringComparer.Ordinal).ToList());
    }

    [Fact]
    public async Task A_Container_On_None_Has_Loopback_Alone_And_Dockers_Localhost_Lines()
    {
        var output = await RunAsync(NewTask("none", "ip -o link | cut -d: -f2; ip -4 -o addr show; echo HOSTS; cat /etc/hosts; echo RESOLV; cat /etc/resolv.conf"));

        var links = output[..output.IndexOf("HOSTS", StringComparison.Ordinal)].Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.Contains("inet", StringComparison.Ordinal));
        Assert.Equal(["lo"], links);
        Assert.Matches(@"lo\s+inet 127\.0\.0\.1/8", output);
        Assert.Contains("HOSTS\n" + ContainerSpecification.LocalhostLines + "RESOLV", output, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"nameserver 127\.", output);
    }

    private async Task<string> RunAsync(TaskObject task, LinuxExecutor? executor = null)
    {
        var controller = (executor ?? _executor).CreateController(task);
        try
        {
            await controller.PrepareAsync(default);
            await controller.StartAsync(default);
            Assert.Equal(0, (await controller.WaitAsync(default).WaitAsync(TimeSpan.FromSeconds(20))).ExitCode);
            return string.Join("\n", (await controller.ReadLogsAsync(0, null, default)).Select(e => e.Line));
        }
        finally
        {
            await controller.RemoveAsync(default);
        }
    }

    private static TaskObject NewTask(string mode, string script) => new(
        "m" + Guid.NewGuid().ToString("N")[..24], ObjectMeta.New(DateTimeOffset.UtcNow), "svc", 1, "nodeA",
        new TaskSpec(new ContainerSpec("busybox:netmode", Command: ["sh", "-c", script]), Networks: [new NetworkAttachment(mode)]), 1, TaskState.Running,
        new TaskObservedStatus(TaskState.Assigned, DateTimeOffset.UtcNow));
}
