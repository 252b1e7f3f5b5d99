using System.Collections.Immutable;
using System.Text.Json.Nodes;
using ProtoSwarm.Contracts;
using static ProtoSwarm.Tests.Cli.CliHarness;

namespace ProtoSwarm.Tests.Cli;

public class ServiceCommandTests
{
    private const string WebId = "svc000000000000000000web1";
    private const string ApiId = "svc000000000000000000api1";

    private static readonly FakeNode NoAnswers = new(request => throw new InvalidOperationException($"{request.GetType().Name} was sent"));

    private static readonly ImmutableSortedDictionary<string, string> ServiceNames =
        ImmutableSortedDictionary<string, string>.Empty.Add(WebId, "web").Add(ApiId, "api");

    private static readonly ImmutableSortedDictionary<string, string> NodeNames =
        ImmutableSortedDictionary<string, string>.Empty.Add("node00000000000000000000a", "worker1");

    /// <summary>A swarm with web (3 replicas, all running) and api (global); answers every service request.</summary>
    private static FakeNode Swarm(ServiceObject? web = null, Func<object, object?>? first = null)
    {
        web ??= Service(previous: Spec(replicas: 2));
        var api = Service(ApiId, Spec("api") with { Mode = ServiceMode.GlobalMode });
        return new FakeNode(request => first?.Invoke(request) ?? request switch
        {
            CreateService c => new ServiceCreated(WebId, ["warning: image nginx:1.27 could not be accessed on a registry"]),
            UpdateService u => new ServiceUpdated(WebId, u.Version + 1),
            RemoveService { ServiceRef: "ghost" } => new CommandRejected(RejectCode.NotFound, "service ghost not found"),
            RemoveService r => new ServiceRemoved(r.ServiceRef),
            InspectService { ServiceRef: "ghost" } => new CommandRejected(RejectCode.NotFound, "service ghost not found"),
            InspectService { ServiceRef: "api" } => new ServiceDetails(api, new ServiceReplicas(2, 2)),
            InspectService => new ServiceDetails(web, new ServiceReplicas(3, 3)),
            ListServices => new ServiceList([new ServiceSummary(web, new(3, 3)), new ServiceSummary(api, new(2, 2))]),
            ListTasks => new TaskList(
                [
                    Task("task000000000000000web1a", 1, at: Joined.AddSeconds(-5), created: Joined),
                    Task("task000000000000000web1o", 1, TaskState.Shutdown, TaskState.Shutdown, created: Joined.AddMinutes(-5)),
                    Task("task000000000000000web2a", 2),
                    Task("task000000000000000web3a", 3),
                ],
                ServiceNames,
                NodeNames),
            ListNodes => new NodeList([]),
            _ => new CommandRejected(RejectCode.Internal, "unexpected"),
        });
    }

    [Fact]
    public async Task Create_Sends_The_Spec_Prints_The_Id_Then_Progress_Until_Converged()
    {
        var node = Swarm();

        var (code, output, error) = await RunAsync(node, "service", "create", "--name", "web", "--replicas", "3", "-p", "8080:80", "-e", "A=1", "nginx:1.27", "nginx", "-g", "daemon off;");

        var sent = Assert.IsType<CreateService>(node.Requests[0]).Spec;
        Assert.Equal(0, code);
        Assert.Equal(("web", 3L, "nginx:1.27"), (sent.Name, sent.Mode.Replicas, sent.TaskTemplate.Container.Image));
        Assert.Equal(["nginx", "-g", "daemon off;"], sent.TaskTemplate.Container.Args.ToArray());
        Assert.Equal(["A=1"], sent.TaskTemplate.Container.Env.ToArray());
        Assert.Equal(8080, sent.Endpoint.Ports.Single().PublishedPort);
        Assert.Equal(
            WebId + "\n" +
            "overall progress: 3 out of 3 tasks\n" +
            "1/3: running   [==================================================>]\n" +
            "2/3: running   [==================================================>]\n" +
            "3/3: running   [==================================================>]\n" +
            "verify: Service converged\n",
            output);
        Assert.Equal("warning: image nginx:1.27 could not be accessed on a registry\n", error);
    }

    [Fact]
    public async Task Create_Sends_Every_Published_Port_As_Given_For_The_Manager_To_Refuse_One_Given_Twice()
    {
        var node = Swarm();

        await RunAsync(node, "service", "create", "-d", "-p", "8081:80", "-p", "8081:81", "nginx");

        Assert.Equal([(80, 8081), (81, 8081)], Assert.IsType<CreateService>(node.Requests.Single()).Spec.Endpoint.Ports.Select(p => (p.TargetPort, p.PublishedPort)));
    }

    [Fact]
    public async Task Create_Takes_Flags_After_The_Image_As_The_Containers_Own()
    {
        var node = Swarm();

        await RunAsync(node, "service", "create", "-d", "alpine", "ping", "-c", "3", "-d", "host");

        Assert.Equal(["ping", "-c", "3", "-d", "host"], Assert.IsType<CreateService>(node.Requests.Single()).Spec.TaskTemplate.Container.Args.ToArray());
    }

    [Fact]
    public async Task Create_Detach_Prints_Only_The_Id_And_Does_Not_Wait()
    {
        var node = Swarm();

        var (code, output, _) = await RunAsync(node, "service", "create", "--detach", "--name", "web", "nginx");

        Assert.Equal(0, code);
        Assert.Equal(WebId + "\n", output);
        Assert.IsType<CreateService>(Assert.Single(node.Requests));
    }

    [Fact]
    public async Task Create_Quiet_Waits_Without_Printing_Progress()
    {
        var node = Swarm();

        var (code, output, _) = await RunAsync(node, "service", "create", "-q", "nginx");

        Assert.Equal(0, code);
        Assert.Equal(WebId + "\n", output);
        Assert.Contains(node.Requests, r => r is ListTasks);
    }

    [Fact]
    public async Task Create_Without_A_Name_Picks_One()
    {
        var node = Swarm();

        await RunAsync(node, "service", "create", "-d", "nginx");

        Assert.Matches("^[a-z]+-[a-z]+$", Assert.IsType<CreateService>(node.Requests.Single()).Spec.Name);
    }

    [Theory]
    [InlineData("--replicas '-1' is not a whole number", "service", "create", "--replicas", "-1", "nginx")]
    [InlineData("--mode 'sideways'", "service", "create", "--mode", "sideways", "nginx")]
    [InlineData("--update-delay '5x' is not a duration", "service", "create", "--update-delay", "5x", "nginx")]
    [InlineData("--publish '8080:http'", "service", "create", "-p", "8080:http", "nginx")]
    [InlineData("--mount 'type=bind,target=/x'", "service", "create", "--mount", "type=bind,target=/x", "nginx")]
    [InlineData("--limit-memory 'lots'", "service", "create", "--limit-memory", "lots", "nginx")]
    [InlineData("--reserve-cpu 'half'", "service", "create", "--reserve-cpu", "half", "nginx")]
    [InlineData("a global service runs one task", "service", "create", "--mode", "global", "--replicas", "2", "nginx")]
    [InlineData("--no-healthcheck conflicts with --health-cmd", "service", "create", "--no-healthcheck", "--health-cmd", "true", "nginx")]
    [InlineData("is not an image reference", "service", "create", "--", " ")]
    [InlineData("--stop-signal 'SIGNOPE' is not a signal", "service", "create", "--stop-signal", "SIGNOPE", "nginx")]
    [InlineData("--stop-signal 'SIGNOPE' is not a signal", "service", "update", "--stop-signal", "SIGNOPE", "web")]
    [InlineData("--restart-condition 'always'", "service", "update", "--restart-condition", "always", "web")]
    [InlineData("--publish-rm 'http'", "service", "update", "--publish-rm", "http", "web")]
    [InlineData("'web' is not SERVICE=REPLICAS", "service", "scale", "web")]
    [InlineData("'web=-1'", "service", "scale", "web=-1")]
    [InlineData("'desired-state' is not", "service", "ls", "--filter", "desired-state=running")]
    [InlineData("mode must be replicated", "service", "ls", "--filter", "mode=sideways")]
    [InlineData("'gone' is not a task state; use one of new, allocated, pending,", "service", "ps", "--filter", "desired-state=gone", "web")]
    [InlineData("'512' is not a task state", "service", "ps", "--filter", "desired-state=512", "web")]
    [InlineData("there is no field .Foo", "service", "ps", "--format", "{{.Foo}}", "web")]
    [InlineData("--format cannot be combined with --pretty", "service", "inspect", "--pretty", "--format", "{{.ID}}", "web")]
    public async Task Malformed_Flags_Are_Refused_Before_Anything_Is_Sent(string expected, params string[] args)
    {
        var (code, output, error) = await RunAsync(NoAnswers, args);

        Assert.Equal(1, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Contains("--help'.", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
        Assert.Empty(output);
        Assert.Empty(NoAnswers.Requests);
    }

    [Fact]
    public async Task A_Spec_The_Swarm_Refuses_Prints_Its_Reason()
    {
        var node = new FakeNode(_ => new CommandRejected(RejectCode.InvalidArgument, "Spec.TaskTemplate.Placement.Constraints[0]: 'node.colour==red': no node has 'node.colour'; use node.labels.<name>"));

        var (code, output, error) = await RunAsync(node, "service", "create", "--constraint", "node.colour==red", "nginx");

        Assert.Equal(1, code);
        Assert.Empty(output);
        Assert.Equal("Error: Spec.TaskTemplate.Placement.Constraints[0]: 'node.colour==red': no node has 'node.colour'; use node.labels.<name>\n", error);
    }

    [Fact]
    public async Task Ls_Prints_The_Table_Sorted_By_Name()
    {
        var (code, output, _) = await RunAsync(Swarm(), "service", "ls");

        Assert.Equal(0, code);
        Assert.Equal(
            "ID             NAME      MODE         REPLICAS   IMAGE        PORTS\n" +
            "svc000000000   api       global       2/2        nginx:1.27   \n" +
            "svc000000000   web       replicated   3/3        nginx:1.27   \n",
            output);
    }

    [Theory]
    [InlineData(new[] { "-q" }, "svc000000000\nsvc000000000\n")]
    [InlineData(new[] { "--filter", "name=we", "--format", "{{.Name}} {{.Replicas}}" }, "web 3/3\n")]
    [InlineData(new[] { "--filter", "mode=global", "--format", "{{.Name}}" }, "api\n")]
    [InlineData(new[] { "--filter", "id=svc000000000000000000api", "--format", "{{.Name}}" }, "api\n")]
    [InlineData(new[] { "--filter", "label=tier", "--format", "{{.Name}}" }, "")]
    public async Task Ls_Quiet_Filters_And_Templates(string[] flags, string expected)
    {
        var (_, output, _) = await RunAsync(Swarm(), ["service", "ls", .. flags]);

        Assert.Equal(expected, output);
    }

    [Fact]
    public async Task Ls_Json_Has_Docker_Fields()
    {
        var (_, output, _) = await RunAsync(Swarm(), "service", "ls", "--format", "json");

        var web = JsonNode.Parse(output.Split('\n')[1])!;
        Assert.Equal(["ID", "Image", "Mode", "Name", "Ports", "Replicas"], web.AsObject().Select(p => p.Key));
        Assert.Equal("3/3", (string?)web["Replicas"]);
    }

    [Fact]
    public async Task Ps_Lists_Tasks_With_History_Rows()
    {
        var node = Swarm();

        var (code, output, _) = await RunAsync(node, "service", "ps", "--format", "{{.Name}}|{{.Node}}|{{.DesiredState}}", "web");

        Assert.Equal(0, code);
        Assert.Equal(["web"], Assert.IsType<ListTasks>(node.Requests.Single()).ServiceRefs.ToArray());
        Assert.Equal("web.1|worker1|Running\n \\_ web.1|worker1|Shutdown\nweb.2|worker1|Running\nweb.3|worker1|Running\n", output);
    }

    [Fact]
    public async Task Node_Ps_Lists_The_Tasks_Of_This_Node_Or_Of_The_Named_Ones_As_Service_Ps_Does()
    {
        const string Self = "aaaaaaaaaaaaaaaaaaaaaaaaa";
        var node = Swarm(first: request => request is GetInfo ? Info(Self) : null);

        var (code, output, _) = await RunAsync(node, "node", "ps", "--format", "{{.Name}}|{{.Node}}");
        var (named, _, _) = await RunAsync(node, "node", "ps", "-q", "worker1", "self");

        Assert.Equal((0, 0), (code, named));
        var requests = node.Requests.OfType<ListTasks>().ToList();
        Assert.Equal([Self], requests[0].NodeRefs.ToArray());
        Assert.Empty(requests[0].ServiceRefs);
        Assert.Equal(["worker1", Self], requests[1].NodeRefs.ToArray());
        Assert.StartsWith("web.1|worker1\n \\_ web.1|worker1\n", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ps_Table_Has_Docker_Columns()
    {
        var (_, output, _) = await RunAsync(Swarm(), "service", "ps", "web");

        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("ID             NAME        IMAGE        NODE      DESIRED STATE   CURRENT STATE", lines[0], StringComparison.Ordinal);
        Assert.Contains("ERROR", lines[0], StringComparison.Ordinal);
        Assert.Contains("PORTS", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("task00000000   web.1       nginx:1.27   worker1   Running         Running ", lines[1], StringComparison.Ordinal);
        Assert.Contains(@" \_ web.1", lines[2], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("desired-state=running", "web.1,web.2,web.3")]
    [InlineData("desired-state=shutdown", "web.1")]
    [InlineData("id=task000000000000000web2", "web.2")]
    [InlineData("name=web.3", "web.3")]
    [InlineData("node=worker1", @"web.1, \_ web.1,web.2,web.3")]
    [InlineData("node=worker9", "")]
    public async Task Ps_Filters(string filter, string names)
    {
        var (_, output, _) = await RunAsync(Swarm(), "service", "ps", "--filter", filter, "--format", "{{.Name}}", "web");

        Assert.Equal(names, string.Join(",", output.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }

    /// <summary>
    /// As swarmkit's ListTasks: the desired state is compared exactly, in any case. A replacement held at Ready
    /// (a restart delay) is not "running", a task scaled down (Remove) not "shutdown".
    /// </summary>
    [Theory]
    [InlineData("desired-state=running", "web.1")]
    [InlineData("desired-state=READY", "web.2")]
    [InlineData("desired-state=shutdown", "web.3")]
    [InlineData("desired-state=remove", "web.4")]
    [InlineData("desired-state=running,desired-state=remove", "web.1,web.4")]
    [InlineData("desired-state=accepted", "")]
    [InlineData("desired-state=allocated", "")]
    [InlineData("desired-state=", "web.1,web.2,web.3,web.4")]
    public async Task Ps_Desired_State_Filter_Is_Exact_As_Swarmkit(string filters, string names)
    {
        var node = Swarm(first: request => request is ListTasks
            ? new TaskList(
                [
                    Task("task000000000000000web1a", 1),
                    Task("task000000000000000web2a", 2, TaskState.Assigned, TaskState.Ready),
                    Task("task000000000000000web3a", 3, TaskState.Shutdown, TaskState.Shutdown),
                    Task("task000000000000000web4a", 4, TaskState.Running, TaskState.Remove),
                ],
                ServiceNames,
                NodeNames)
            : null);
        string[] args = ["service", "ps", .. filters.Split(',').SelectMany(f => new[] { "--filter", f }), "--format", "{{.Name}}", "web"];

        var (_, output, _) = await RunAsync(node, args);

        Assert.Equal(names, string.Join(",", output.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }

    [Fact]
    public async Task Ps_Quiet_And_No_Trunc_Print_Whole_Ids()
    {
        var (_, quiet, _) = await RunAsync(Swarm(), "service", "ps", "-q", "web");
        var (_, whole, _) = await RunAsync(Swarm(), "service", "ps", "-q", "--no-trunc", "web");

        Assert.Equal("task00000000", quiet.Split('\n')[0]);
        Assert.Equal("task000000000000000web1a", whole.Split('\n')[0]);
    }

    [Fact]
    public async Task Inspect_Prints_Json_Format_And_Pretty_And_Reports_Missing_Services()
    {
        var (code, output, error) = await RunAsync(Swarm(), "service", "inspect", "web", "ghost");
        var (_, formatted, _) = await RunAsync(Swarm(), "service", "inspect", "--format", "{{.Spec.Name}} {{.Spec.Mode.Replicated.Replicas}}", "web");
        var (_, pretty, _) = await RunAsync(Swarm(), "service", "inspect", "--pretty", "web");

        Assert.Equal(1, code);
        Assert.Equal(WebId, (string?)JsonNode.Parse(output)!.AsArray().Single()!["ID"]);
        Assert.Equal("Error: service ghost not found\n", error);
        Assert.Equal("web 3\n", formatted);
        Assert.Contains("Name:               web\n", pretty, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Update_Reads_The_Service_Applies_The_Flags_And_Sends_The_Version_Read()
    {
        var node = Swarm();

        var (code, output, _) = await RunAsync(node, "service", "update", "--image", "nginx:1.28", "--env-add", "B=2", "--replicas", "5", "--detach", "web");

        Assert.Equal(0, code);
        Assert.Equal("web\n", output);
        Assert.IsType<InspectService>(node.Requests[0]);
        var sent = Assert.IsType<UpdateService>(node.Requests[1]);
        Assert.Equal((WebId, 10UL, false), (sent.ServiceRef, sent.Version, sent.Rollback));
        Assert.Equal(("nginx:1.28", 5L), (sent.Spec!.TaskTemplate.Container.Image, sent.Spec.Mode.Replicas));
        Assert.Equal(["B=2"], sent.Spec.TaskTemplate.Container.Env.ToArray());
        Assert.Equal(2, node.Requests.Count);
    }

    private static ServiceSpec WithContainer(Func<ContainerSpec, ContainerSpec> change)
    {
        var spec = Spec();
        return spec with { TaskTemplate = spec.TaskTemplate with { Container = change(spec.TaskTemplate.Container) } };
    }

    [Fact]
    public async Task Create_Takes_Init_And_Sysctls_As_Docker_Does()
    {
        var node = Swarm();

        var (code, _, error) = await RunAsync(node, "service", "create", "--name", "web", "--init", "--sysctl", "net.core.somaxconn=1024", "--sysctl", "kernel.shmmax=68719476736", "-d", "nginx:1.27");
        var plain = Swarm();
        await RunAsync(plain, "service", "create", "--name", "web", "-d", "nginx:1.27");

        Assert.Equal(0, code);
        Assert.DoesNotContain("Error", error, StringComparison.Ordinal);
        var container = Assert.IsType<CreateService>(node.Requests[0]).Spec.TaskTemplate.Container;
        Assert.True(container.Init);
        Assert.Equal([KeyValuePair.Create("kernel.shmmax", "68719476736"), KeyValuePair.Create("net.core.somaxconn", "1024")], container.Sysctls.ToArray());
        var defaults = Assert.IsType<CreateService>(plain.Requests[0]).Spec.TaskTemplate.Container;
        Assert.Null(defaults.Init);
        Assert.Empty(defaults.Sysctls);
    }

    [Fact]
    public async Task Isolation_Default_Is_Taken_And_Windows_Modes_Are_Refused_With_Dockers_Words()
    {
        var created = Swarm();
        var (code, _, error) = await RunAsync(created, "service", "create", "--name", "web", "--isolation", "default", "-d", "nginx:1.27");
        var updated = Swarm(Service());
        var (updateCode, _, _) = await RunAsync(updated, "service", "update", "--isolation", "default", "--env-add", "A=1", "-d", "web");
        var refused = Swarm();
        var (refusedCode, refusedOut, refusedError) = await RunAsync(refused, "service", "create", "--name", "web", "--isolation", "process", "-d", "nginx:1.27");
        var refusedUpdate = Swarm(Service());
        var (refusedUpdateCode, _, refusedUpdateError) = await RunAsync(refusedUpdate, "service", "update", "--isolation", "hyperv", "-d", "web");

        Assert.Equal(0, code);
        Assert.DoesNotContain("Error", error, StringComparison.Ordinal);
        Assert.Single(created.Requests.OfType<CreateService>());
        Assert.Equal(0, updateCode);
        Assert.IsType<UpdateService>(updated.Requests[1]);
        Assert.Equal((1, ""), (refusedCode, refusedOut));
        Assert.Contains("--isolation: Invalid isolation: \"process\" - linux only supports 'default'.", refusedError, StringComparison.Ordinal);
        Assert.Empty(refused.Requests);
        Assert.Equal(1, refusedUpdateCode);
        Assert.Contains("Invalid isolation: \"hyperv\" - linux only supports 'default'.", refusedUpdateError, StringComparison.Ordinal);
        Assert.DoesNotContain(refusedUpdate.Requests, r => r is UpdateService);
    }

    [Fact]
    public async Task Update_Sets_Init_Clears_It_With_False_And_Edits_Sysctls()
    {
        var web = Service(spec: WithContainer(c => c with { Init = true, Sysctls = NamespacedSysctls.None.Add("net.core.somaxconn", "1024").Add("kernel.shmmax", "1") }));

        var cleared = Swarm(web);
        var (code, _, _) = await RunAsync(cleared, "service", "update", "--init=false", "--sysctl-add", "net.core.somaxconn=4096", "--sysctl-add", "fs.mqueue.msg_max=20", "--sysctl-rm", "kernel.shmmax", "-d", "web");
        var untouched = Swarm(web);
        await RunAsync(untouched, "service", "update", "--env-add", "A=1", "-d", "web");

        Assert.Equal(0, code);
        var container = Assert.IsType<UpdateService>(cleared.Requests[1]).Spec!.TaskTemplate.Container;
        Assert.False(container.Init);
        Assert.Equal([KeyValuePair.Create("fs.mqueue.msg_max", "20"), KeyValuePair.Create("net.core.somaxconn", "4096")], container.Sysctls.ToArray());
        var kept = Assert.IsType<UpdateService>(untouched.Requests[1]).Spec!.TaskTemplate.Container;
        Assert.True(kept.Init);
        Assert.Equal(2, kept.Sysctls.Count);
    }

    [Fact]
    public async Task Update_Turns_Read_Only_Off_With_False_And_Keeps_It_When_Left_Out()
    {
        var web = Service(spec: WithContainer(c => c with { ReadOnly = true }));

        var cleared = Swarm(web);
        var (code, _, _) = await RunAsync(cleared, "service", "update", "--read-only=false", "-d", "web");
        var untouched = Swarm(web);
        await RunAsync(untouched, "service", "update", "--env-add", "A=1", "-d", "web");

        Assert.Equal(0, code);
        Assert.False(Assert.IsType<UpdateService>(cleared.Requests[1]).Spec!.TaskTemplate.Container.ReadOnly);
        Assert.True(Assert.IsType<UpdateService>(untouched.Requests[1]).Spec!.TaskTemplate.Container.ReadOnly);
    }

    [Theory]
    [InlineData("--tty")]
    [InlineData("-t")]
    public async Task Create_Takes_Tty_As_Docker_Does(string flag)
    {
        var node = Swarm();

        var (code, _, error) = await RunAsync(node, "service", "create", "--name", "web", flag, "-d", "busybox", "sh");
        var plain = Swarm();
        await RunAsync(plain, "service", "create", "--name", "web", "-d", "busybox", "sh");

        Assert.Equal(0, code);
        Assert.DoesNotContain("Error", error, StringComparison.Ordinal);
        Assert.True(Assert.IsType<CreateService>(node.Requests[0]).Spec.TaskTemplate.Container.TTY);
        Assert.False(Assert.IsType<CreateService>(plain.Requests[0]).Spec.TaskTemplate.Container.TTY);
    }

    [Fact]
    public async Task Update_Sets_Tty_Clears_It_With_False_And_Keeps_It_When_Left_Out()
    {
        var set = Swarm(Service());
        var (code, _, _) = await RunAsync(set, "service", "update", "-t", "-d", "web");
        var withTty = Service(spec: WithContainer(c => c with { TTY = true }));
        var cleared = Swarm(withTty);
        var (clearedCode, _, _) = await RunAsync(cleared, "service", "update", "--tty=false", "-d", "web");
        var untouched = Swarm(withTty);
        await RunAsync(untouched, "service", "update", "--env-add", "A=1", "-d", "web");

        Assert.Equal((0, 0), (code, clearedCode));
        Assert.True(Assert.IsType<UpdateService>(set.Requests[1]).Spec!.TaskTemplate.Container.TTY);
        Assert.False(Assert.IsType<UpdateService>(cleared.Requests[1]).Spec!.TaskTemplate.Container.TTY);
        Assert.True(Assert.IsType<UpdateService>(untouched.Requests[1]).Spec!.TaskTemplate.Container.TTY);
    }

    [Fact]
    public async Task Inspect_And_Json_Formats_Leave_Html_Characters_As_They_Are_As_Dockers_Do()
    {
        var spec = WithContainer(c => c with { Env = ["A=<b>&c"] }) with { Labels = ImmutableSortedDictionary<string, string>.Empty.Add("note", "x<y>&z") };
        var node = Swarm(Service(spec: spec));

        var (_, output, _) = await RunAsync(node, "service", "inspect", "web");
        var (_, compact, _) = await RunAsync(node, "service", "inspect", "--format", "json", "web");
        var (_, labels, _) = await RunAsync(node, "service", "inspect", "--format", "{{json .Spec.Labels}}", "web");

        Assert.Contains("\"A=<b>&c\"", output, StringComparison.Ordinal);
        Assert.Contains("\"note\": \"x<y>&z\"", output, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u00", output, StringComparison.Ordinal);
        Assert.Equal(["A=<b>&c"], JsonNode.Parse(output)![0]!["Spec"]!["TaskTemplate"]!["ContainerSpec"]!["Env"]!.AsArray().Select(e => (string?)e));
        // docker's JSONInspector: every object in one compact array on one line.
        Assert.StartsWith("[{\"ID\":\"" + WebId + "\",", compact, StringComparison.Ordinal);
        Assert.EndsWith("}]\n", compact, StringComparison.Ordinal);
        Assert.Single(compact.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("\"Env\":[\"A=<b>&c\"]", compact, StringComparison.Ordinal);
        Assert.Equal(JsonNode.Parse(output)!.ToJsonString(), JsonNode.Parse(compact)!.ToJsonString());
        Assert.Equal("{\"note\":\"x<y>&z\"}\n", labels);
    }

    [Fact]
    public async Task Inspect_Shows_Tty_Where_Docker_Does_And_Only_When_Set_And_Pretty_Does_Not()
    {
        var web = Service(spec: WithContainer(c => c with { TTY = true, StopSignal = "SIGINT", ReadOnly = true }));

        var (_, output, _) = await RunAsync(Swarm(web), "service", "inspect", "web");
        var (_, pretty, _) = await RunAsync(Swarm(web), "service", "inspect", "--pretty", "web");
        var (_, plain, _) = await RunAsync(Swarm(Service()), "service", "inspect", "web");

        var container = JsonNode.Parse(output)!.AsArray().Single()!["Spec"]!["TaskTemplate"]!["ContainerSpec"]!.AsObject();
        Assert.True((bool?)container["TTY"]);
        // Docker's ContainerSpec order: ... StopSignal, TTY, OpenStdin, ReadOnly ...
        var names = container.Select(p => p.Key).ToList();
        Assert.Equal(names.IndexOf("StopSignal") + 1, names.IndexOf("TTY"));
        Assert.Equal(names.IndexOf("TTY") + 1, names.IndexOf("ReadOnly"));
        Assert.False(JsonNode.Parse(plain)!.AsArray().Single()!["Spec"]!["TaskTemplate"]!["ContainerSpec"]!.AsObject().ContainsKey("TTY"));
        Assert.DoesNotContain("TTY", pretty, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Inspect_Shows_Init_And_Sysctls()
    {
        var web = Service(spec: WithContainer(c => c with { Init = true, Sysctls = NamespacedSysctls.None.Add("net.core.somaxconn", "1024") }));

        var (_, output, _) = await RunAsync(Swarm(web), "service", "inspect", "web");
        var (_, pretty, _) = await RunAsync(Swarm(web), "service", "inspect", "--pretty", "web");

        var container = JsonNode.Parse(output)!.AsArray().Single()!["Spec"]!["TaskTemplate"]!["ContainerSpec"]!;
        Assert.True((bool?)container["Init"]);
        Assert.Equal("1024", (string?)container["Sysctls"]!["net.core.somaxconn"]);
        Assert.Contains(" Init:", pretty, StringComparison.Ordinal);
        Assert.Contains("\nSysCtls:\n net.core.somaxconn: 1024\n", pretty, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Node_Wide_Sysctl_Is_Refused_Before_Anything_Is_Sent()
    {
        var (code, _, error) = await RunAsync(NoAnswers, "service", "create", "--sysctl", "vm.swappiness=10", "nginx:1.27");

        Assert.NotEqual(0, code);
        Assert.Contains("--sysctl 'vm.swappiness=10': 'vm.swappiness' is not a namespaced sysctl", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Update_Made_Stale_By_The_Managers_Own_Write_Is_Made_Again_From_A_Fresh_Read()
    {
        var conflicts = 0;
        var node = Swarm(first: request => request is UpdateService && conflicts++ == 0
            ? new CommandRejected(RejectCode.Conflict, "Service web changed since it was read: update out of sequence")
            : null);

        var (code, output, _) = await RunAsync(node, "service", "update", "--env-add", "B=2", "--detach", "web");

        Assert.Equal(0, code);
        Assert.Equal("web\n", output);
        Assert.Equal([typeof(InspectService), typeof(UpdateService), typeof(InspectService), typeof(UpdateService)], node.Requests.Select(r => r.GetType()).ToArray());
        Assert.Equal(["B=2"], Assert.IsType<UpdateService>(node.Requests[3]).Spec!.TaskTemplate.Container.Env.ToArray());
    }

    [Fact]
    public async Task Update_That_Stays_Stale_Gives_Up_With_The_Managers_Reason()
    {
        var node = Swarm(first: request => request is UpdateService
            ? new CommandRejected(RejectCode.Conflict, "Service web changed since it was read: update out of sequence")
            : null);

        var (code, _, error) = await RunAsync(node, "service", "update", "--env-add", "B=2", "--detach", "web");

        Assert.NotEqual(0, code);
        Assert.Contains("update out of sequence", error, StringComparison.Ordinal);
        Assert.Equal(5, node.Requests.Count(r => r is UpdateService));
    }

    [Fact]
    public async Task Update_That_Pauses_Prints_The_Swarm_Message_And_Fails()
    {
        var paused = Service(status: Status(UpdateState.Paused, "update paused due to failure or early termination of task abc"));

        var (code, _, error) = await RunAsync(Swarm(paused), "service", "update", "--image", "nginx:broken", "web");

        Assert.Equal(1, code);
        Assert.Equal("Error: service update paused: update paused due to failure or early termination of task abc\n", error);
    }

    [Fact]
    public async Task Update_That_Rolled_Back_Prints_The_Rollback_And_Fails()
    {
        var rolledBack = Service(status: Status(UpdateState.RollbackCompleted, "update rolled back due to failure or early termination of task abc"));

        var (code, output, error) = await RunAsync(Swarm(rolledBack), "service", "update", "--image", "nginx:broken", "web");

        Assert.Equal(1, code);
        Assert.StartsWith("web\nrollback: update rolled back due to failure", output, StringComparison.Ordinal);
        Assert.Contains("overall progress: rolling back update: 3 out of 3 tasks\n", output, StringComparison.Ordinal);
        Assert.Equal("Error: service rolled back: update rolled back due to failure or early termination of task abc\n", error);
    }

    [Fact]
    public async Task Update_Whose_Rollback_Completed_Before_Its_Tasks_Run_Fails_At_Once()
    {
        var rolledBack = Service(status: Status(UpdateState.RollbackCompleted, "update rolled back due to failure or early termination of task abc"));
        var node = Swarm(rolledBack, first: request => request is ListTasks
            ? new TaskList([Task("task000000000000000web1a", 1, TaskState.Failed, TaskState.Shutdown, err: "non-zero exit (1)")], ServiceNames, NodeNames)
            : null);

        var (code, output, error) = await RunAsync(node, "service", "update", "--image", "nginx:broken", "web");

        Assert.Equal(1, code);
        Assert.Equal("Error: service rolled back: update rolled back due to failure or early termination of task abc\n", error);
        Assert.DoesNotContain("verify:", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Update_The_Managers_Completed_With_A_Task_Still_Failing_Succeeds_At_Once()
    {
        // --update-failure-action continue: docker's CLI stops waiting once the update is completed.
        var completed = Service(status: Status(UpdateState.Completed, "update completed"));
        var node = Swarm(completed, first: request => request is ListTasks
            ? new TaskList(
                [Task("task000000000000000web1a", 1), Task("task000000000000000web2a", 2), Task("task000000000000000web3a", 3, TaskState.Failed, TaskState.Shutdown, err: "task: non-zero exit (1)")],
                ServiceNames,
                NodeNames)
            : null);

        var (code, output, error) = await RunAsync(node, "service", "update", "--update-failure-action", "continue", "--args", "false", "web");

        Assert.Equal(0, code);
        Assert.Equal(string.Empty, error);
        Assert.Contains("3/3: failed    task: non-zero exit (1)\n", output, StringComparison.Ordinal);
        Assert.Single(node.Requests, r => r is ListTasks);
    }

    [Theory]
    [InlineData(UpdateState.Completed, "update completed", 0, "verify: update completed; 2 out of 3 tasks running\n", "")]
    [InlineData(UpdateState.Paused, "update paused due to failure or early termination of task abc", 1, null,
        "Error: service update paused: update paused due to failure or early termination of task abc\n")]
    [InlineData(UpdateState.RollbackPaused, "rollback paused due to failure or early termination of task abc", 1, null,
        "Error: service rollback paused: rollback paused due to failure or early termination of task abc\n")]
    [InlineData(UpdateState.RollbackCompleted, "update rolled back due to failure or early termination of task abc", 1, null,
        "Error: service rolled back: update rolled back due to failure or early termination of task abc\n")]
    public async Task Update_Ending_In_Any_Terminal_Update_State_With_A_Task_Failing_Ends_With_One_Verdict_Line(
        UpdateState state, string message, int expectedCode, string? lastOutputLine, string expectedError)
    {
        // A command whose tasks exit 0 at once: the slot never runs, the managers settle the update anyway.
        var node = Swarm(Service(status: Status(state, message)), first: request => request is ListTasks
            ? new TaskList(
                [Task("task000000000000000web1a", 1), Task("task000000000000000web2a", 2), Task("task000000000000000web3a", 3, TaskState.Complete, TaskState.Shutdown)],
                ServiceNames,
                NodeNames)
            : null);

        var (code, output, error) = await RunAsync(node, "service", "update", "--update-failure-action", "continue", "--args", "true", "web");

        Assert.Equal(expectedCode, code);
        Assert.Equal(expectedError, error);
        if (lastOutputLine is not null)
        {
            Assert.EndsWith(lastOutputLine, output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Update_Refuses_Replicas_For_A_Global_Service_Without_Sending_An_Update()
    {
        var node = Swarm();

        var (code, _, error) = await RunAsync(node, "service", "update", "--replicas", "3", "api");

        Assert.Equal(1, code);
        Assert.Contains("Error: --replicas applies to replicated services and jobs only", error, StringComparison.Ordinal);
        Assert.DoesNotContain(node.Requests, r => r is UpdateService);
    }

    [Fact]
    public async Task Rollback_Asks_For_The_Previous_Spec_And_Succeeds_When_Rolled_Back()
    {
        var web = Service(previous: Spec(replicas: 2), status: Status(UpdateState.RollbackCompleted, "rollback completed"));
        var node = Swarm(web);

        var (code, output, _) = await RunAsync(node, "service", "rollback", "web");

        var sent = Assert.IsType<UpdateService>(node.Requests[1]);
        Assert.Equal(0, code);
        Assert.True(sent.Rollback);
        Assert.Null(sent.Spec);
        Assert.Equal(10UL, sent.Version);
        Assert.StartsWith("web\nrollback: rollback completed\n", output, StringComparison.Ordinal);
        Assert.EndsWith("verify: Service converged\n", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Update_Rollback_Flag_Is_The_Same_Request()
    {
        var node = Swarm();

        await RunAsync(node, "service", "update", "--rollback", "-d", "web");

        Assert.True(Assert.IsType<UpdateService>(node.Requests[1]).Rollback);
    }

    [Fact]
    public async Task Rollback_Of_A_Service_Never_Updated_Is_Refused()
    {
        var node = Swarm(Service());

        var (code, _, error) = await RunAsync(node, "service", "rollback", "web");

        Assert.Equal(1, code);
        Assert.Equal("Error: service web has no previous spec to roll back to; it was never updated.\n", error);
        Assert.DoesNotContain(node.Requests, r => r is UpdateService);
    }

    [Fact]
    public async Task Scale_Sets_Replicas_Prints_Docker_Sentences_And_Goes_On_After_A_Failure()
    {
        var node = Swarm();

        var (code, output, error) = await RunAsync(node, "service", "scale", "-d", "web=5", "api=2", "ghost=1");

        Assert.Equal(1, code);
        Assert.Equal("web scaled to 5\n", output);
        Assert.Contains("Error: api: scale can only be used with replicated or replicated-job mode", error, StringComparison.Ordinal);
        Assert.Contains("Error: service ghost not found", error, StringComparison.Ordinal);
        var sent = Assert.IsType<UpdateService>(Assert.Single(node.Requests, r => r is UpdateService));
        Assert.Equal(5, sent.Spec!.Mode.Replicas);
    }

    [Fact]
    public async Task Scale_Waits_For_Convergence_By_Default()
    {
        var (code, output, _) = await RunAsync(Swarm(), "service", "scale", "web=3");

        Assert.Equal(0, code);
        Assert.StartsWith("web scaled to 3\noverall progress: 3 out of 3 tasks\n", output, StringComparison.Ordinal);
        Assert.EndsWith("verify: Service converged\n", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rm_Prints_Each_Service_And_Reports_Missing_Ones()
    {
        var node = Swarm();

        var (code, output, error) = await RunAsync(node, "service", "rm", "web", "ghost", "api");

        Assert.Equal(1, code);
        Assert.Equal("web\napi\n", output);
        Assert.Equal("Error: service ghost not found\n", error);
        Assert.Equal(3, node.Requests.OfType<RemoveService>().Select(r => r.RequestId).Distinct().Count());
    }

    private static FakeNode SwarmWithUsage() => Swarm(first: request => request is GetTaskUsage
        ? new TaskUsageList(
            [new TaskUsage("task000000000000000web1a", 12.345, 3 << 19, 1L << 30, 3, 100)],
            ["Node w9 (node9) is down: the usage of its 1 running task(s) is not shown."])
        : null);

    [Fact]
    public async Task Ps_Without_Stats_Asks_No_Node_For_Usage()
    {
        var node = SwarmWithUsage();

        await RunAsync(node, "service", "ps", "web");
        await RunAsync(node, "service", "ps", "--format", "json", "web");
        await RunAsync(node, "service", "ps", "-q", "--stats", "web");
        var (_, json, _) = await RunAsync(node, "service", "ps", "--format", "json", "web");

        Assert.Empty(node.Requests.OfType<GetTaskUsage>());
        Assert.DoesNotContain("CPUPerc", json, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ps_Stats_Shows_The_Usage_Of_Running_Tasks_And_Dashes_Elsewhere()
    {
        var node = SwarmWithUsage();

        var (code, output, error) = await RunAsync(node, "service", "ps", "--stats", "--format", "{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.PIDs}}", "web");

        Assert.Equal(0, code);
        Assert.Equal(["task000000000000000web1a", "task000000000000000web2a", "task000000000000000web3a"],
            Assert.IsType<GetTaskUsage>(node.Requests.Single(r => r is GetTaskUsage)).TaskIds.ToArray());
        Assert.Equal("web.1|12.35%|1.5MiB / 1GiB|3\n \\_ web.1|-|-|-\nweb.2|-|-|-\nweb.3|-|-|-\n", output);
        Assert.Equal("Warning: Node w9 (node9) is down: the usage of its 1 running task(s) is not shown.\n", error);
    }

    [Fact]
    public async Task Ps_Stats_Adds_Docker_Stats_Columns_To_The_Table_And_Json()
    {
        var (_, table, _) = await RunAsync(SwarmWithUsage(), "service", "ps", "--stats", "web");
        var (_, json, _) = await RunAsync(SwarmWithUsage(), "node", "ps", "--stats", "--format", "json", "worker1");
        var (_, template, _) = await RunAsync(SwarmWithUsage(), "service", "ps", "--format", "{{.ID}} {{.PIDs}}", "web");

        var lines = table.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.EndsWith("PORTS     CPU %     MEM USAGE / LIMIT   PIDS", lines[0], StringComparison.Ordinal);
        Assert.EndsWith("12.35%    1.5MiB / 1GiB       3", lines[1], StringComparison.Ordinal);
        Assert.EndsWith("-         -                   -", lines[2], StringComparison.Ordinal);
        var first = JsonNode.Parse(json.Split('\n')[0])!;
        Assert.Equal(("12.35%", "1.5MiB / 1GiB", "3"), ((string?)first["CPUPerc"], (string?)first["MemUsage"], (string?)first["PIDs"]));
        Assert.Equal("task00000000 3\n", template.Split('\n')[0] + "\n");
    }
}
