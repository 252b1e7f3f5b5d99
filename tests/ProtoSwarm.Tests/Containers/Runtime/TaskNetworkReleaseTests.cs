using Microsoft.Extensions.Logging.Abstractions;
using ProtoSwarm.Actors.Agent.Networks;
using ProtoSwarm.Containers.Images;
using ProtoSwarm.Containers.Volumes;
using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Runtime;
using ProtoSwarm.Networking.Namespaces;
using ProtoSwarm.Networking.Overlay;
using ProtoSwarm.Tests.Networking;

namespace ProtoSwarm.Tests.Containers.Runtime;

// A task's network namespace and addresses end with its container, not with the task's removal: the
// managers give the address out again as soon as the task's end is reported (defect: a stopped task kept
// them until pruned, and the next task given its address was rejected with "Address already in use").
[Collection(ContainerCollection.Name)]
[Trait("Category", "Privileged")]
public sealed class TaskNetworkReleaseTests(ContainerFixture fixture) : IAsyncLifetime
{
    private const string NetworkId = "feed1111beef2222cafe3333";

    private readonly string _dir = Directory.CreateTempSubdirectory("protoswarm-release-").FullName;
    private OverlayLab _lab = null!;
    private string _tasks = null!;
    private string _host = null!;
    private NodeNetworks _networks = null!;
    private ImageStore _images = null!;
    private LinuxExecutor _executor = null!;

    public async Task InitializeAsync()
    {
        _lab = OverlayLab.Create();
        (_host, _) = await _lab.TwoHostsAsync();
        _tasks = $"{_lab.Directory}-tasks";
        _networks = new NodeNetworks("nodeA", () => _lab.Underlay(1).ToString(), _tasks, _lab.SandboxDirectory("nodeA"), NullLoggerFactory.Instance, _host);
        await _networks.ApplyAsync(new NetworkChanges(true, [OverlayLab.View(NetworkId, 4310) with { Subnet = "10.251.0.0/29" }], []), default);
        _images = await fixture.ImageStoreWithBusyboxAsync(Path.Combine(_dir, "images"), "busybox:release");
        var volumes = new VolumeStore(Path.Combine(_dir, "volumes"));
        _executor = new LinuxExecutor(() => _images, () => volumes, fixture.Options, NullLoggerFactory.Instance, () => _networks);
    }

    public async Task DisposeAsync()
    {
        _images.Dispose();
        await _networks.DisposeAsync();
        if (Directory.Exists(_tasks))
        {
            foreach (var path in Directory.EnumerateFiles(_tasks))
            {
                NetworkNamespace.Delete(path);
            }

            NetworkNamespace.ReleaseDirectory(_tasks);
        }

        await _lab.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task An_Ended_Containers_Namespace_And_Address_Are_Released_Before_Its_Removal_And_The_Next_Task_Takes_The_Address()
    {
        var firstTask = NewTask("echo joined; exit 3");
        var firstId = firstTask.Id;
        var first = _executor.CreateController(firstTask);
        var second = _executor.CreateController(NewTask("sleep 1000"));
        try
        {
            await first.PrepareAsync(default);
            var netns = Path.Combine(_tasks, firstId);
            Assert.True(File.Exists(netns));
            await first.StartAsync(default);
            Assert.Equal(3, (await first.WaitAsync(default).WaitAsync(TimeSpan.FromSeconds(20))).ExitCode);

            await first.ReleaseAsync(default);

            Assert.False(File.Exists(netns));
            var left = await OverlayLab.InAsync(_host, n => n.ListLinks());
            Assert.DoesNotContain(left, l => OverlayNames.ParseAlias(l.Alias) is { } owner && owner.TaskKey == firstId);

            // The container is still there for `service logs` until the task is removed.
            Assert.Contains("joined", (await first.ReadLogsAsync(0, null, default)).Select(e => e.Line));

            // The managers give 10.251.0.2 to the next task: its interface comes up at once.
            await second.PrepareAsync(default);
            await second.StartAsync(default);

            // The removal finds nothing left to release.
            await first.RemoveAsync(default);
            Assert.False(File.Exists(netns));
        }
        finally
        {
            await second.TerminateAsync(default);
            await second.RemoveAsync(default);
            await first.RemoveAsync(default);
        }
    }

    // As docker puts a swarm task on no network on its default bridge: the container is in a namespace with eth0 on
    // the node's gateway bridge and its default route there (before, it had only lo), which goes as soon as it ends.
    [Fact]
    public async Task A_Task_On_No_Network_Runs_On_The_Bridge_And_Its_Veth_And_Address_Go_With_Its_Container()
    {
        var task = NewTask("ip -4 -o addr show; ip route; cat /etc/hosts /etc/resolv.conf", onNoNetwork: true);
        var controller = _executor.CreateController(task);
        try
        {
            await controller.PrepareAsync(default);
            var netns = Path.Combine(_tasks, task.Id);
            Assert.True(File.Exists(netns));
            await controller.StartAsync(default);
            Assert.Equal(0, (await controller.WaitAsync(default).WaitAsync(TimeSpan.FromSeconds(20))).ExitCode);
            var output = string.Join("\n", (await controller.ReadLogsAsync(0, null, default)).Select(e => e.Line));
            Assert.Matches(@"eth0\s+inet 172\.18\.0\.2/32", output);
            Assert.Contains("default via 172.18.0.1 dev eth0", output, StringComparison.Ordinal);
            Assert.Contains($"172.18.0.2\t{task.Id[..12]}", output, StringComparison.Ordinal);
            Assert.DoesNotContain("127.0.0.11", output, StringComparison.Ordinal);

            await controller.ReleaseAsync(default);

            Assert.False(File.Exists(netns));
            var left = await OverlayLab.InAsync(_host, n => n.ListLinks());
            Assert.DoesNotContain(left, l => OverlayNames.ParseAlias(l.Alias) is { } owner && owner.TaskKey == task.Id);
        }
        finally
        {
            await controller.RemoveAsync(default);
        }
    }

    private static TaskObject NewTask(string script, bool onNoNetwork = false) => new(
        "r" + Guid.NewGuid().ToString("N")[..24], ObjectMeta.New(DateTimeOffset.UtcNow), "svc", 1, "nodeA",
        new TaskSpec(new ContainerSpec("busybox:release", Command: ["sh", "-c", script])), 1, TaskState.Running,
        new TaskObservedStatus(TaskState.Assigned, DateTimeOffset.UtcNow), Networks: onNoNetwork ? [] : [new AttachedNetwork(NetworkId, "10.251.0.2/29")]);
}
