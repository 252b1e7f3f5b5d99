using System.Collections.Immutable;
using ProtoSwarm.Cli.Output;
using ProtoSwarm.Contracts;
using static ProtoSwarm.Tests.Cli.CliHarness;

namespace ProtoSwarm.Tests.Cli;

public class ServiceViewTests
{
    private static readonly DateTimeOffset Now = Joined.AddSeconds(5);

    private static TaskList List(params TaskObject[] tasks) => new(
        [.. tasks],
        ImmutableSortedDictionary<string, string>.Empty.Add("svc000000000000000000web1", "web"),
        ImmutableSortedDictionary<string, string>.Empty.Add("node00000000000000000000a", "worker1"));

    [Fact]
    public void Ls_Row_Shows_Docker_Columns()
    {
        var spec = Spec(image: "nginx:1.27@sha256:abcdef") with
        {
            Endpoint = new EndpointSpec(Ports: [new PortConfig(80, 8080), new PortConfig(53, 53, PortProtocol.Udp), new PortConfig(443, 443, PublishMode: PublishMode.Host)]),
        };

        var row = ServiceView.Row(new ServiceSummary(Service(spec: spec), new ServiceReplicas(2, 3)));

        Assert.Equal(new ServiceRow("svc000000000", "web", "replicated", "2/3", "nginx:1.27", "*:8080->80/tcp, *:53->53/udp"), row);
    }

    [Theory]
    [InlineData("nginx:1.27@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "nginx:1.27")]
    [InlineData("nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("registry:5000/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "registry:5000/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("registry:5000/app:v2@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "registry:5000/app:v2")]
    [InlineData("registry:5000/app", "registry:5000/app")]
    public void The_Image_Column_Drops_The_Digest_Only_Of_A_Tagged_Image_As_Docker_Does(string image, string shown)
    {
        var spec = Spec(image: image);

        var row = ServiceView.Row(new ServiceSummary(Service(spec: spec), new ServiceReplicas(1, 1)));

        Assert.Equal(shown, row.Image);
    }

    [Theory]
    [InlineData(ServiceModeKind.Global, 0, "global", "4/4")]
    [InlineData(ServiceModeKind.Replicated, 2, "replicated", "4/4 (max 2 per node)")]
    public void Replicas_Column_Follows_The_Mode(ServiceModeKind kind, long maxPerNode, string mode, string replicas)
    {
        var spec = Spec() with
        {
            Mode = new ServiceMode(kind, Replicas: 4),
            TaskTemplate = Spec().TaskTemplate with { Placement = new Placement(MaxReplicasPerNode: maxPerNode) },
        };

        var row = ServiceView.Row(new ServiceSummary(Service(spec: spec), new ServiceReplicas(4, 4)));

        Assert.Equal((mode, replicas), (row.Mode, row.Replicas));
    }

    [Fact]
    public void A_Job_Shows_Running_And_Completed()
    {
        var spec = Spec() with { Mode = ServiceMode.ReplicatedJobMode(2, 5) };

        var row = ServiceView.Row(new ServiceSummary(Service(spec: spec), new ServiceReplicas(2, 5, Completed: 1)));

        Assert.Equal(("replicated job", "2/2 (1/5 completed)"), (row.Mode, row.Replicas));
    }

    [Fact]
    public void A_Global_Job_Wants_Running_Only_The_Nodes_Not_Yet_Completed()
    {
        var spec = Spec() with { Mode = ServiceMode.GlobalJobMode };

        var done = ServiceView.Row(new ServiceSummary(Service(spec: spec), new ServiceReplicas(0, 3, Completed: 3)));
        var half = ServiceView.Row(new ServiceSummary(Service(spec: spec), new ServiceReplicas(1, 3, Completed: 2)));

        Assert.Equal("0/0 (3/3 completed)", done.Replicas);
        Assert.Equal("1/1 (2/3 completed)", half.Replicas);
    }

    [Fact]
    public void Pretty_Says_When_The_Update_Started_And_Completed_As_Docker_Does_Ago()
    {
        var status = new UpdateStatus(UpdateState.Completed, Joined.AddMinutes(1), Joined.AddMinutes(2), "update completed");

        var text = ServiceView.Pretty(new ServiceDetails(Service(status: status), new ServiceReplicas(3, 3)), Joined.AddMinutes(5));

        Assert.Contains("UpdateStatus:\n State:             completed\n Started:           4 minutes ago\n Completed:         3 minutes ago\n Message:           update completed\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Ls_Table_Is_Aligned_With_Docker_Headers()
    {
        var table = ServiceView.Table([new ServiceRow("svc000000000", "web", "replicated", "2/3", "nginx:1.27", "*:8080->80/tcp")]);

        Assert.Equal(
            "ID             NAME      MODE         REPLICAS   IMAGE        PORTS\n" +
            "svc000000000   web       replicated   2/3        nginx:1.27   *:8080->80/tcp\n",
            table);
    }

    [Fact]
    public void Ps_Puts_Older_Tasks_Of_A_Slot_Below_The_Newest()
    {
        var tasks = List(
            Task("task000000000000000000old", 1, TaskState.Shutdown, TaskState.Shutdown, created: Joined.AddSeconds(-60), at: Joined.AddSeconds(-30)),
            Task("task000000000000000000two", 2, TaskState.Pending, err: "no suitable node (insufficient resources on 2 nodes)", at: Joined.AddSeconds(3)),
            Task("task000000000000000000new", 1, TaskState.Running, created: Joined, at: Joined));

        var rows = ServiceView.TaskRows(tasks, tasks.Tasks, Now, noTrunc: false);

        Assert.Equal(["web.1", @" \_ web.1", "web.2"], rows.Select(r => r.Name));
        Assert.Equal(new TaskRow("task00000000", "web.1", "nginx:1.27", "worker1", "Running", "Running 5 seconds ago", string.Empty, string.Empty), rows[0]);
        Assert.Equal(("Shutdown", "Shutdown 35 seconds ago"), (rows[1].DesiredState, rows[1].CurrentState));
        Assert.Equal("\"no suitable node (insufficien…\"", rows[2].Error);
        Assert.Equal("Pending Less than a second ago", ServiceView.CurrentState(tasks.Tasks[1].Status, Joined.AddSeconds(3.5)));
    }

    [Fact]
    public void Ps_No_Trunc_Shows_Whole_Ids_Names_And_Errors()
    {
        var tasks = List(Task("task000000000000000000two", 2, TaskState.Pending, err: "no suitable node (insufficient resources on 2 nodes)"));

        var row = ServiceView.TaskRows(tasks, tasks.Tasks, Now, noTrunc: true).Single();

        Assert.Equal("task000000000000000000two", row.Id);
        Assert.Equal("web.2.task000000000000000000two", row.Name);
        Assert.Equal("\"no suitable node (insufficient resources on 2 nodes)\"", row.Error);
    }

    [Fact]
    public void A_Global_Task_Is_Named_After_Its_Node_And_Shows_Host_Ports()
    {
        var task = Task("task0000000000000000glob1", 0) with
        {
            Endpoint = new EndpointSpec(Ports: [new PortConfig(80, 8080, PublishMode: PublishMode.Host), new PortConfig(443, 443)]),
        };
        task = task with { Status = task.Status with { PortStatus = [new PortConfig(80, 8080, PublishMode: PublishMode.Host)] } };

        var row = ServiceView.TaskRows(List(task), [task], Now, noTrunc: false).Single();

        Assert.Equal(("web.node00000000000000000000a", "*:8080->80/tcp"), (row.Name, row.Ports));
    }

    [Fact]
    public void A_Task_Shows_The_Host_Ports_Its_Node_Bound_And_None_Before_Its_Node_Reported_Them()
    {
        var endpoint = new EndpointSpec(Ports: [new PortConfig(7200, 0, PublishMode: PublishMode.Host), new PortConfig(80, 8080, PublishMode: PublishMode.Host)]);
        var pending = Task("task00000000000000000one1", 1) with { Endpoint = endpoint };
        var running = Task("task00000000000000000two2", 2) with { Endpoint = endpoint };
        running = running with
        {
            Status = running.Status with { PortStatus = [new PortConfig(7200, 32768, PublishMode: PublishMode.Host), new PortConfig(80, 8080, PublishMode: PublishMode.Host)] },
        };

        var rows = ServiceView.TaskRows(List(pending, running), [pending, running], Now, noTrunc: false);

        // docker shows the task's PortStatus alone: a Pending task has no port bound, not even its spec's fixed 8080.
        Assert.Equal(["", "*:32768->7200/tcp,*:8080->80/tcp"], rows.Select(r => r.Ports));
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData(0L, 0L)]
    [InlineData(1L, 1_000_000L)]
    public void Inspect_Shows_A_Stop_Grace_Period_Of_Zero_And_Leaves_Out_None(long? milliseconds, long? nanos)
    {
        var container = new ContainerSpec("nginx:1.27", StopGracePeriod: milliseconds is { } ms ? TimeSpan.FromMilliseconds(ms) : null);
        var service = Service(spec: Spec() with { TaskTemplate = new TaskSpec(container) });

        var json = ServiceView.Inspect(new ServiceDetails(service, new ServiceReplicas(3, 3)));

        var shown = json["Spec"]!["TaskTemplate"]!["ContainerSpec"]!.AsObject();
        Assert.Equal(nanos is not null, shown.ContainsKey("StopGracePeriod"));
        Assert.Equal(nanos, (long?)shown["StopGracePeriod"]);
    }

    [Fact]
    public void Inspect_Has_Docker_Shape()
    {
        var spec = Spec() with
        {
            Labels = ImmutableSortedDictionary<string, string>.Empty.Add("tier", "web"),
            TaskTemplate = new TaskSpec(
                new ContainerSpec("nginx:1.27", Env: ["A=1"], Mounts: [new MountSpec(MountType.Bind, "/srv", "/data", true)], StopGracePeriod: TimeSpan.FromSeconds(20)),
                Restart: new RestartPolicy(RestartCondition.OnFailure, TimeSpan.FromSeconds(5)),
                Placement: new Placement(["node.role==worker"])),
            Endpoint = new EndpointSpec(Ports: [new PortConfig(80, 8080)]),
        };
        var service = Service(spec: spec, status: Status(UpdateState.RollbackCompleted, "rollback completed"), previous: Spec());

        var json = ServiceView.Inspect(new ServiceDetails(service, new ServiceReplicas(3, 3)));

        Assert.Equal(10UL, (ulong?)json["Version"]!["Index"]);
        Assert.Equal("web", (string?)json["Spec"]!["Labels"]!["tier"]);
        Assert.Equal(3, (long?)json["Spec"]!["Mode"]!["Replicated"]!["Replicas"]);
        Assert.Equal("on-failure", (string?)json["Spec"]!["TaskTemplate"]!["RestartPolicy"]!["Condition"]);
        Assert.Equal(5_000_000_000, (long?)json["Spec"]!["TaskTemplate"]!["RestartPolicy"]!["Delay"]);
        Assert.Equal(20_000_000_000, (long?)json["Spec"]!["TaskTemplate"]!["ContainerSpec"]!["StopGracePeriod"]);
        Assert.Equal("bind", (string?)json["Spec"]!["TaskTemplate"]!["ContainerSpec"]!["Mounts"]![0]!["Type"]);
        Assert.Equal("node.role==worker", (string?)json["Spec"]!["TaskTemplate"]!["Placement"]!["Constraints"]![0]);
        Assert.Equal("stop-first", (string?)json["Spec"]!["UpdateConfig"]!["Order"]);
        Assert.Equal("pause", (string?)json["Spec"]!["RollbackConfig"]!["FailureAction"]);
        Assert.Equal(8080, (int?)json["Spec"]!["EndpointSpec"]!["Ports"]![0]!["PublishedPort"]);
        Assert.Equal("ingress", (string?)json["Spec"]!["EndpointSpec"]!["Ports"]![0]!["PublishMode"]);
        Assert.Equal("rollback_completed", (string?)json["UpdateStatus"]!["State"]);
        Assert.NotNull(json["PreviousSpec"]);
        Assert.Equal(3, (long?)json["ServiceStatus"]!["RunningTasks"]);
    }

    [Fact]
    public void Pretty_Prints_Docker_Human_Form()
    {
        var spec = Spec() with
        {
            TaskTemplate = Spec().TaskTemplate with { Resources = new ResourceRequirements(new ResourceAmounts(1_000_000_000, 0), new ResourceAmounts(0, 512L << 20)) },
            Endpoint = new EndpointSpec(Ports: [new PortConfig(80, 8080)]),
        };

        var text = ServiceView.Pretty(new ServiceDetails(Service(spec: spec), new ServiceReplicas(3, 3)));

        Assert.Contains("ID:                 svc000000000000000000web1\n", text, StringComparison.Ordinal);
        Assert.Contains("Service Mode:       Replicated\n Replicas:          3\n", text, StringComparison.Ordinal);
        Assert.Contains(" Monitoring Period: 5s\n", text, StringComparison.Ordinal);
        Assert.Contains("ContainerSpec:\n Image:             nginx:1.27\n", text, StringComparison.Ordinal);
        Assert.Contains(" Reservations:\n  Memory:           512MiB\n Limits:\n  CPU:              1\n", text, StringComparison.Ordinal);
        Assert.Contains(" PublishedPort = 8080\n  Protocol = tcp\n  TargetPort = 80\n  PublishMode = ingress\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Pretty_Names_The_Networks_As_Docker_Does_And_Shows_An_Unknown_Ones_Id()
    {
        var spec = Spec() with
        {
            TaskTemplate = Spec().TaskTemplate with { Networks = [new NetworkAttachment("net0000000000000000000001"), new NetworkAttachment("net0000000000000000000002")] },
        };
        var names = new Dictionary<string, string>(StringComparer.Ordinal) { ["net0000000000000000000001"] = "backend" };

        var text = ServiceView.Pretty(new ServiceDetails(Service(spec: spec), new ServiceReplicas(3, 3)), Joined, names);

        Assert.Contains("Networks:           backend net0000000000000000000002\n", text, StringComparison.Ordinal);
    }

    private static ServiceSpec Confined() => Spec() with
    {
        TaskTemplate = Spec().TaskTemplate with
        {
            Container = new ContainerSpec(
                "nginx:1.27",
                Hostname: "web-{{.Task.Slot}}",
                ReadOnly: true,
                CapabilityAdd: ["CAP_NET_ADMIN", "CAP_SYS_TIME"],
                CapabilityDrop: ["CAP_MKNOD"],
                Ulimits: [new Ulimit("nproc", 512, 1024), new Ulimit("nofile", 1024, 2048)],
                Hosts: ["10.0.0.5 db", "10.0.0.6 cache cache.local"],
                Groups: ["audio"],
                Init: false,
                Sysctls: NamespacedSysctls.None.Add("net.core.somaxconn", "1024")),
            Resources = new ResourceRequirements(new ResourceAmounts(0, 0, Pids: 100), ResourceAmounts.None),
        },
    };

    [Fact]
    public void Inspect_Shows_The_Confinement_Fields_Where_Docker_Puts_Them()
    {
        var json = ServiceView.Inspect(new ServiceDetails(Service(spec: Confined()), new ServiceReplicas(3, 3)));

        var container = json["Spec"]!["TaskTemplate"]!["ContainerSpec"]!;
        Assert.Equal("web-{{.Task.Slot}}", (string?)container["Hostname"]);
        Assert.True((bool?)container["ReadOnly"]);
        Assert.False((bool?)container["Init"]);
        Assert.Equal(["CAP_NET_ADMIN", "CAP_SYS_TIME"], container["CapabilityAdd"]!.AsArray().Select(c => (string?)c));
        Assert.Equal(["CAP_MKNOD"], container["CapabilityDrop"]!.AsArray().Select(c => (string?)c));
        Assert.Equal(["10.0.0.5 db", "10.0.0.6 cache cache.local"], container["Hosts"]!.AsArray().Select(h => (string?)h));
        Assert.Equal(["audio"], container["Groups"]!.AsArray().Select(g => (string?)g));
        Assert.Equal("1024", (string?)container["Sysctls"]!["net.core.somaxconn"]);
        Assert.Equal("""[{"Name":"nproc","Hard":1024,"Soft":512},{"Name":"nofile","Hard":2048,"Soft":1024}]""", Json.Line(container["Ulimits"]));
        Assert.Equal(100, (long?)json["Spec"]!["TaskTemplate"]!["Resources"]!["Limits"]!["Pids"]);
        Assert.Equal(
            ["Image", "Labels", "Hostname", "Groups", "Init", "ReadOnly", "Hosts", "Isolation", "Sysctls", "CapabilityAdd", "CapabilityDrop", "Ulimits"],
            container.AsObject().Select(p => p.Key));
    }

    [Fact]
    public void A_Health_Checks_Start_Interval_Shows_Between_Start_Period_And_Retries_Only_When_Set()
    {
        var check = new HealthCheck(["CMD", "true"], TimeSpan.FromSeconds(30), StartPeriod: TimeSpan.FromMinutes(1));
        ServiceSpec With(HealthCheck health) => Spec() with { TaskTemplate = Spec().TaskTemplate with { Container = new ContainerSpec("nginx:1.27", HealthCheck: health) } };

        var set = ServiceView.Inspect(new ServiceDetails(Service(spec: With(check with { StartInterval = TimeSpan.FromSeconds(2) })), new ServiceReplicas(1, 1)));
        var unset = ServiceView.Inspect(new ServiceDetails(Service(spec: With(check)), new ServiceReplicas(1, 1)));

        // Every field of docker's HealthConfig is omitempty: the unset Timeout and Retries are left out too.
        Assert.Equal("""{"Test":["CMD","true"],"Interval":30000000000,"StartPeriod":60000000000,"StartInterval":2000000000}""",
            Json.Line(set["Spec"]!["TaskTemplate"]!["ContainerSpec"]!["Healthcheck"]));
        Assert.False(unset["Spec"]!["TaskTemplate"]!["ContainerSpec"]!["Healthcheck"]!.AsObject().ContainsKey("StartInterval"));
    }

    [Fact]
    public void Inspect_Shows_Bind_Options_As_Docker_Once_A_Propagation_Or_Non_Recursion_Was_Given()
    {
        var container = new ContainerSpec("nginx:1.27",
            Mounts:
            [
                new MountSpec(MountType.Bind, "/a", "/a"),
                new MountSpec(MountType.Bind, "/b", "/b") { BindPropagation = MountPropagation.RShared },
                new MountSpec(MountType.Bind, "/c", "/c") { BindNonRecursive = true },
                new MountSpec(MountType.Bind, "/d", "/d") { BindPropagation = MountPropagation.Slave, BindNonRecursive = true },
            ]);
        var spec = Spec() with { TaskTemplate = Spec().TaskTemplate with { Container = container } };

        var json = ServiceView.Inspect(new ServiceDetails(Service(spec: spec), new ServiceReplicas(1, 1)));

        Assert.Equal(
            """[{"Type":"bind","Source":"/a","Target":"/a"},"""
            + """{"Type":"bind","Source":"/b","Target":"/b","BindOptions":{"Propagation":"rshared"}},"""
            + """{"Type":"bind","Source":"/c","Target":"/c","BindOptions":{"Propagation":"rprivate","NonRecursive":true}},"""
            + """{"Type":"bind","Source":"/d","Target":"/d","BindOptions":{"Propagation":"slave","NonRecursive":true}}]""",
            Json.Line(json["Spec"]!["TaskTemplate"]!["ContainerSpec"]!["Mounts"]));
    }

    [Fact]
    public void Inspect_Shows_Read_Only_Recursion_As_Dockers_Bind_Options()
    {
        var container = new ContainerSpec("nginx:1.27",
            Mounts:
            [
                new MountSpec(MountType.Bind, "/a", "/a", ReadOnly: true),
                new MountSpec(MountType.Bind, "/b", "/b", ReadOnly: true) { BindReadOnlyNonRecursive = true },
                new MountSpec(MountType.Bind, "/c", "/c", ReadOnly: true) { BindReadOnlyForceRecursive = true, BindPropagation = MountPropagation.RPrivate },
            ]);
        var spec = Spec() with { TaskTemplate = Spec().TaskTemplate with { Container = container } };

        var json = ServiceView.Inspect(new ServiceDetails(Service(spec: spec), new ServiceReplicas(1, 1)));

        Assert.Equal(
            """[{"Type":"bind","Source":"/a","Target":"/a","ReadOnly":true},"""
            + """{"Type":"bind","Source":"/b","Target":"/b","ReadOnly":true,"BindOptions":{"Propagation":"rprivate","ReadOnlyNonRecursive":true}},"""
            + """{"Type":"bind","Source":"/c","Target":"/c","ReadOnly":true,"BindOptions":{"Propagation":"rprivate","ReadOnlyForceRecursive":true}}]""",
            Json.Line(json["Spec"]!["TaskTemplate"]!["ContainerSpec"]!["Mounts"]));
    }

    [Fact]
    public void Inspect_Shows_A_Volume_Mounts_Driver_Config_As_Docker()
    {
        var options = ImmutableSortedDictionary<string, string>.Empty.Add("type", "tmpfs").Add("device", "tmpfs");
        var container = new ContainerSpec("nginx:1.27",
            Mounts:
            [
                new MountSpec(MountType.Volume, "a", "/a", VolumeDriver: "local", VolumeOptions: options),
                new MountSpec(MountType.Volume, "b", "/b", VolumeOptions: options),
                new MountSpec(MountType.Volume, "c", "/c", VolumeDriver: "local"),
            ]);
        var spec = Spec() with { TaskTemplate = Spec().TaskTemplate with { Container = container } };

        var json = ServiceView.Inspect(new ServiceDetails(Service(spec: spec), new ServiceReplicas(1, 1)));

        Assert.Equal(
            """[{"Type":"volume","Source":"a","Target":"/a","VolumeOptions":{"DriverConfig":{"Name":"local","Options":{"device":"tmpfs","type":"tmpfs"}}}},"""
            + """{"Type":"volume","Source":"b","Target":"/b","VolumeOptions":{"DriverConfig":{"Name":"","Options":{"device":"tmpfs","type":"tmpfs"}}}},"""
            + """{"Type":"volume","Source":"c","Target":"/c","VolumeOptions":{"DriverConfig":{"Name":"local"}}}]""",
            Json.Line(json["Spec"]!["TaskTemplate"]!["ContainerSpec"]!["Mounts"]));
    }

    [Fact]
    public void Inspect_Leaves_Out_Zero_Mount_Health_And_Restart_Fields_As_Dockers_Omitempty()
    {
        var container = new ContainerSpec("nginx:1.27",
            Mounts: [new MountSpec(MountType.Tmpfs, "", "/cache"), new MountSpec(MountType.Bind, "/srv", "/data", ReadOnly: true)],
            HealthCheck: new HealthCheck(["CMD", "true"], TimeSpan.FromSeconds(30), Retries: 3));
        var spec = Spec() with { TaskTemplate = Spec().TaskTemplate with { Container = container } };
        var windowed = Spec() with { TaskTemplate = Spec().TaskTemplate with { Restart = new RestartPolicy(RestartCondition.Any, TimeSpan.FromSeconds(5), 3, TimeSpan.FromSeconds(10)) } };

        var json = ServiceView.Inspect(new ServiceDetails(Service(spec: spec), new ServiceReplicas(3, 3)));
        var withWindow = ServiceView.Inspect(new ServiceDetails(Service(spec: windowed), new ServiceReplicas(3, 3)));

        var template = json["Spec"]!["TaskTemplate"]!;
        Assert.Equal("""[{"Type":"tmpfs","Target":"/cache"},{"Type":"bind","Source":"/srv","Target":"/data","ReadOnly":true}]""",
            Json.Line(template["ContainerSpec"]!["Mounts"]));
        Assert.Equal("""{"Test":["CMD","true"],"Interval":30000000000,"Retries":3}""", Json.Line(template["ContainerSpec"]!["Healthcheck"]));
        Assert.Equal("""{"Condition":"any","Delay":5000000000,"MaxAttempts":0}""", Json.Line(template["RestartPolicy"]));
        Assert.Equal("""{"Condition":"any","Delay":5000000000,"MaxAttempts":3,"Window":10000000000}""", Json.Line(withWindow["Spec"]!["TaskTemplate"]!["RestartPolicy"]));
    }

    [Fact]
    public void Inspect_Leaves_Out_What_Is_Unset_As_Dockers_Omitempty()
    {
        var json = ServiceView.Inspect(new ServiceDetails(Service(), new ServiceReplicas(3, 3)));

        var container = json["Spec"]!["TaskTemplate"]!["ContainerSpec"]!.AsObject();
        Assert.All(["Hostname", "ReadOnly", "Init", "CapabilityAdd", "CapabilityDrop", "Ulimits", "Hosts", "Groups", "Sysctls"], key => Assert.False(container.ContainsKey(key), key));
        // Not omitempty in effect: swarmkit stores the default isolation, and docker's inspect always shows it.
        Assert.Equal("default", (string?)container["Isolation"]);
        Assert.False(json["Spec"]!["TaskTemplate"]!["Resources"]!["Limits"]!.AsObject().ContainsKey("Pids"));
    }

    [Fact]
    public void Pretty_Shows_Capabilities_Sysctls_Ulimits_And_Pids_As_Docker_And_The_Rest_In_Its_Style()
    {
        var text = ServiceView.Pretty(new ServiceDetails(Service(spec: Confined()), new ServiceReplicas(3, 3)));

        Assert.Contains(
            "ContainerSpec:\n Image:             nginx:1.27\n Init:              false\n" +
            " Hostname:          web-{{.Task.Slot}}\n Groups:            audio\n ReadOnly:          true\n" +
            " Hosts:\n  10.0.0.5 db\n  10.0.0.6 cache cache.local\n" +
            "Capabilities:\n Add: [CAP_NET_ADMIN CAP_SYS_TIME]\n Drop: [CAP_MKNOD]\n" +
            "SysCtls:\n net.core.somaxconn: 1024\n" +
            "Ulimits:\n nofile: 1024:2048\n nproc: 512:1024\n",
            text,
            StringComparison.Ordinal);
        Assert.Contains("Resources:\n Limits:\n  PIDs:             100\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Pretty_Spaces_Placement_And_User_As_Dockers_Template_Writes_Them()
    {
        var spec = Spec() with
        {
            TaskTemplate = Spec().TaskTemplate with
            {
                Container = new ContainerSpec("nginx:1.27", User: "www-data"),
                Placement = new Placement(["node.role==worker"], [new PlacementPreference("node.labels.zone")], MaxReplicasPerNode: 2),
            },
        };

        var text = ServiceView.Pretty(new ServiceDetails(Service(spec: spec), new ServiceReplicas(3, 3)));

        Assert.Contains(
            "Placement:\n Constraints:       [node.role==worker]\n Preferences:   [spread=node.labels.zone]\n Max Replicas Per Node:   2\n",
            text,
            StringComparison.Ordinal);
        Assert.Contains("\n User: www-data\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Pretty_Prints_The_Placement_Heading_Alone_For_A_Service_Placed_Anywhere_As_Dockers_Template()
    {
        var text = ServiceView.Pretty(new ServiceDetails(Service(spec: Spec()), new ServiceReplicas(3, 3)));

        // Docker's template writes "Placement:" always; with no constraints, preferences or max, the next heading follows it.
        Assert.Matches(@"\nPlacement:\n(UpdateConfig|RollbackConfig|ContainerSpec):\n", text);
    }

    [Theory]
    [InlineData(0, "0s")]
    [InlineData(300, "300ms")]
    [InlineData(5_000, "5s")]
    [InlineData(90_000, "1m30s")]
    [InlineData(7_200_000, "2h0m0s")]
    [InlineData(1_500, "1.5s")]
    public void Durations_Print_As_Go_Prints_Them(long milliseconds, string expected)
    {
        Assert.Equal(expected, GoDuration.Format(TimeSpan.FromMilliseconds(milliseconds)));
    }

    [Theory]
    [InlineData(0L, "0B")]
    [InlineData(512L, "512B")]
    [InlineData(1536L, "1.5KiB")]
    [InlineData(52_428_800L, "50MiB")]
    [InlineData(8_232_000_000L, "7.667GiB")]
    [InlineData(1_073_741_823L, "1024MiB")]
    public void Sizes_Are_Dockers_Binary_Units_With_Four_Digits(long bytes, string expected)
    {
        Assert.Equal(expected, ServiceView.BytesText(bytes));
    }

    [Theory]
    [InlineData(0.0, "0.00%")]
    [InlineData(99.996, "100.00%")]
    [InlineData(153.2, "153.20%")]
    public void Cpu_Is_A_Percentage_With_Two_Decimals(double percent, string expected)
    {
        Assert.Equal(expected, ServiceView.CpuText(percent));
    }
}
