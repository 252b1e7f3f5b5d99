using System.Collections.Immutable;
using Microsoft.Extensions.Time.Testing;
using ProtoSwarm.Actors.Agent.Tasks;
using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Runtime;
using ProtoSwarm.Tests.Nodes;

namespace ProtoSwarm.Tests.Hosting;

/// <summary>The node's answer to `ps`, `container inspect` and `stats`: its executor's containers, named and labelled as docker's swarm containers.</summary>
public sealed class LocalContainersTests
{
    private static readonly DateTimeOffset T0 = TestNodes.T0;

    private static TaskObject Task(string id, long slot, string service = "web") => new(
        id, ObjectMeta.New(T0), "svc" + service, slot, "node1",
        new TaskSpec(new ContainerSpec("web:1", Labels: ImmutableSortedDictionary<string, string>.Empty.Add("tier", "front"),
            Mounts: [new MountSpec(MountType.Volume, "data", "/data")])),
        1, TaskState.Running, new TaskObservedStatus(TaskState.Running, T0), Networks: [new AttachedNetwork("n1", "10.0.1.5/24", ["web"])],
        ServiceName: service);

    private static ContainerFacts Running(string id, long slot = 1, string service = "web") => new(
        Task(id, slot, service), "sha256:abc", ["httpd"], ["-f"], T0, T0 + TimeSpan.FromSeconds(1), null, 4242, null, ContainerHealth.Healthy,
        [new PortConfig(80, 8080, PortProtocol.Tcp, PublishMode.Host)]) { Hostname = id[..5], Env = ["A=1"], User = "www", WorkingDir = "/www" };

    private static ContainerFacts Exited(string id) => Running(id, 2) with { FinishedAt = T0 + TimeSpan.FromMinutes(1), Pid = 0, ExitCode = 137, Health = null };

    private static ContainerFacts Created(string id) => Running(id, 3) with { StartedAt = null, Pid = 0, Health = null };

    private sealed class Executor(params ContainerFacts[] facts) : ITaskExecutor
    {
        public List<IReadOnlyCollection<string>> Sampled { get; } = [];

        public ITaskController CreateController(TaskObject task) => throw new NotSupportedException();

        public IReadOnlyList<ContainerFacts> ListContainers() => facts;

        public Task<IReadOnlyDictionary<string, TaskUsageSample>> SampleUsageAsync(IReadOnlyCollection<string> taskIds, CancellationToken ct)
        {
            Sampled.Add(taskIds);
            return System.Threading.Tasks.Task.FromResult<IReadOnlyDictionary<string, TaskUsageSample>>(
                taskIds.ToDictionary(id => id, _ => new TaskUsageSample(5_000, 1 << 20, 1 << 30, 3, null)));
        }
    }

    private static async Task<ContainerList> AskAsync(ITaskExecutor? executor, ListContainers request) =>
        Assert.IsType<ContainerList>(await LocalContainers.HandleAsync(executor, request, new FakeTimeProvider(T0), id => id == "n1" ? "front" : null, default));

    [Fact]
    public async Task Only_Running_Containers_Are_Listed_Unless_All_Are_Asked_For()
    {
        var executor = new Executor(Running("aaaaa1"), Exited("bbbbb2"), Created("ccccc3"));

        var running = await AskAsync(executor, new ListContainers("r1", All: false));
        var all = await AskAsync(executor, new ListContainers("r2", All: true));

        Assert.Equal(["aaaaa1"], running.Containers.Select(c => c.Id));
        Assert.Equal([("aaaaa1", "running"), ("bbbbb2", "exited"), ("ccccc3", "created")], all.Containers.Select(c => (c.Id, c.State)));
        Assert.All(all.Containers, c => Assert.Null(c.Usage));
        Assert.Empty(executor.Sampled);
    }

    [Fact]
    public async Task Usage_Is_Read_For_Running_Containers_Only_When_Asked()
    {
        var executor = new Executor(Running("aaaaa1"), Exited("bbbbb2"));

        var list = await AskAsync(executor, new ListContainers("r1", All: true, Usage: true));

        Assert.Equal(["aaaaa1"], Assert.Single(executor.Sampled));
        Assert.Equal(new ContainerUsageReading(5_000, 1 << 20, 1 << 30, 3, 0, 0, 0, 0), list.Containers[0].Usage);
        Assert.Null(list.Containers[1].Usage);
        Assert.Equal(T0, list.SampledAt);
    }

    [Fact]
    public async Task A_Container_Is_Described_As_Dockers_Swarm_Container()
    {
        var list = await AskAsync(new Executor(Running("aaaaa1"), Exited("bbbbb2")), new ListContainers("r1", All: true));

        var running = list.Containers[0];
        Assert.Equal(("web.1.aaaaa1", "web:1", "sha256:abc", "httpd", "-f"), (running.Name, running.Image, running.ImageId, running.Path, string.Join(' ', running.Args)));
        Assert.Equal(["httpd"], running.Entrypoint.ToArray());
        Assert.Equal(["-f"], running.Cmd.ToArray());
        Assert.Equal((4242, 0, "healthy", "aaaaa", "www", "/www"), (running.Pid, running.ExitCode, running.Health, running.Hostname, running.User, running.WorkingDir));
        Assert.Equal(
            [
                "com.docker.swarm.node.id=node1", "com.docker.swarm.service.id=svcweb", "com.docker.swarm.service.name=web", "com.docker.swarm.task=",
                "com.docker.swarm.task.id=aaaaa1", "com.docker.swarm.task.name=web.1.aaaaa1", "tier=front",
            ],
            running.Labels.Select(l => $"{l.Key}={l.Value}"));
        var network = Assert.Single(running.Networks);
        Assert.Equal(("front", "n1", "10.0.1.5/24", "web"), (network.Name, network.NetworkId, network.Address, Assert.Single(network.Aliases)));
        Assert.Equal([new PortConfig(80, 8080, PortProtocol.Tcp, PublishMode.Host)], running.Ports.ToArray());
        var exited = list.Containers[1];
        Assert.Equal((137, "", T0 + TimeSpan.FromMinutes(1)), (exited.ExitCode, exited.Health, exited.FinishedAt));
        Assert.Empty(exited.Ports);
    }

    [Fact]
    public void A_Global_Tasks_Container_Is_Named_By_Its_Node()
    {
        Assert.Equal("agent.node1.t1", LocalContainers.NameOf(Task("t1", 0, "agent")));
        Assert.Equal("svcx.4.t2", LocalContainers.NameOf(Task("t2", 4) with { ServiceName = "" , ServiceId = "svcx" }));
    }

    [Fact]
    public async Task A_Node_Without_An_Executor_Has_No_Containers()
    {
        var list = await AskAsync(null, new ListContainers("r1", All: true, Usage: true));

        Assert.Empty(list.Containers);
    }

    [Fact]
    public async Task An_Overlay_Endpoint_Carries_Its_Mac_Gateway_And_The_Endpoint_Id_Network_Inspect_Shows()
    {
        var list = await LocalContainers.HandleAsync(new Executor(Running("aaaaa1")), new ListContainers("r", All: true), new FakeTimeProvider(T0),
            id => id == "n1" ? "front" : null, default, networkGateway: id => id == "n1" ? "10.0.1.1" : null);

        var network = Assert.Single(Assert.IsType<ContainerList>(list).Containers[0].Networks);
        Assert.Equal(("02:42:0a:00:01:05", "10.0.1.1", NetworkEndpoint.EndpointIdOf("n1", "aaaaa1")), (network.MacAddress, network.Gateway, network.EndpointId));
        Assert.Equal(64, network.EndpointId.Length);
    }

    [Fact]
    public async Task A_Container_On_No_Overlay_Shows_Its_Local_Network_Alone()
    {
        var bare = Running("aaaaa1") with { Task = Task("aaaaa1", 1) with { Networks = [] } };
        var onOverlay = Running("bbbbb2");
        var bridge = new ContainerNetwork("bridge", new string('b', 64), "172.18.0.2/32", [], "172.18.0.1", "02:42:ac:12:00:02", new string('e', 64));
        var asked = new List<(string, bool)>();

        var list = Assert.IsType<ContainerList>(await LocalContainers.HandleAsync(new Executor(bare, onOverlay), new ListContainers("r", All: true),
            new FakeTimeProvider(T0), _ => "front", default, defaultNetwork: (task, running) =>
            {
                asked.Add((task.Id, running));
                return task.Networks.IsEmpty ? bridge : null;
            }));

        Assert.Equal([bridge], list.Containers[0].Networks.ToArray());
        Assert.Equal(["front"], list.Containers[1].Networks.Select(n => n.Name));
        Assert.Equal([("aaaaa1", true), ("bbbbb2", true)], asked);
    }

    [Theory]
    [InlineData("failed to create task for container: exec: \"nosuch\": executable file not found in $PATH", 127)]
    [InlineData("failed to create task for container: exec: \"/x\": stat /x: no such file or directory", 127)]
    [InlineData("failed to create task for container: mount /h onto /etc/passwd: not a directory", 127)]
    [InlineData("failed to create task for container: exec: \"/etc/passwd\": permission denied", 126)]
    [InlineData("failed to create task for container: exec: \"/etc\": is a directory", 126)]
    [InlineData("Bind for 0.0.0.0:80 failed: port is already allocated", 128)]
    public void A_Failed_Start_Gets_Dockers_Exit_Code_By_Its_Words(string error, int exitCode) =>
        Assert.Equal(new ContainerStartFailure(exitCode, error), ContainerStartFailure.Of(error));
}
