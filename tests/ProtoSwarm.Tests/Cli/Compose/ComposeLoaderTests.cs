using System.Collections.Immutable;
using ProtoSwarm.Cli.Compose;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Tests.Cli.Compose;

public sealed class ComposeLoaderTests : IDisposable
{
    private static readonly string Valid = Path.Combine(ComposeCorpusTests.Corpus, "valid");
    private readonly string _temp = Directory.CreateTempSubdirectory("compose-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private static StackModel LoadValid(params string[] files)
    {
        var result = ComposeLoader.Load([.. files.Select(f => Path.Combine(Valid, f))], "demo", ComposeCorpusTests.Environment);
        Assert.Empty(result.Errors.Select(e => e.ToString()));
        return result.Stack!;
    }

    private ComposeResult LoadText(string yaml, IReadOnlyDictionary<string, string>? environment = null)
    {
        var path = Path.Combine(_temp, "stack.yml");
        File.WriteAllText(path, yaml);
        return ComposeLoader.Load([path], "demo", environment ?? new Dictionary<string, string>());
    }

    [Fact]
    public void A_Volumes_Driver_Opts_Go_With_Every_Mount_Of_It_As_Dockers_Driver_Config()
    {
        var result = LoadText("""
            services:
              app:
                image: busybox
                volumes: [share:/share, "plain:/plain"]
            volumes:
              share:
                driver: local
                driver_opts: {type: nfs, o: "addr=10.0.0.5,rw", device: ":/export"}
              plain: {}
            """);

        Assert.Empty(result.Errors);
        var mounts = result.Stack!.Service("app")!.Spec.TaskTemplate.Container.Mounts;
        var share = mounts.Single(m => m.Target == "/share");
        Assert.Equal(("demo_share", "local"), (share.Source, share.VolumeDriver));
        Assert.Equal(["device=:/export", "o=addr=10.0.0.5,rw", "type=nfs"], share.VolumeOptions.Select(o => $"{o.Key}={o.Value}"));
        var plain = mounts.Single(m => m.Target == "/plain");
        Assert.Equal(("", 0), (plain.VolumeDriver, plain.VolumeOptions.Count));
    }

    [Fact]
    public void The_Voting_App_Becomes_Stack_Services_Named_And_Labelled_As_Docker_Does()
    {
        var stack = LoadValid("voting-app.yml");

        Assert.Equal(["db", "redis", "result", "visualizer", "vote", "worker"], stack.Services.Select(s => s.ShortName));
        var vote = stack.Service("vote")!.Spec;
        Assert.Equal("demo_vote", vote.Name);
        Assert.Equal("example/vote:1.2", vote.TaskTemplate.Container.Image);
        Assert.Equal("demo", vote.Labels[StackModel.NamespaceLabel]);
        Assert.Equal("example/vote:1.2", vote.Labels[StackModel.ImageLabel]);
        Assert.Equal("demo", vote.TaskTemplate.Container.Labels[StackModel.NamespaceLabel]);
        Assert.Equal(ServiceMode.ReplicatedMode(2), vote.Mode);
        Assert.Equal([new PortConfig(80, 5000)], vote.Endpoint.Ports.ToArray());
        Assert.Equal(["demo_frontend: vote"], Attachments(vote.TaskTemplate.Networks));
        Assert.Equal(RestartCondition.OnFailure, vote.TaskTemplate.Restart.Condition);
        Assert.Equal(2, vote.Update.Parallelism);

        var worker = stack.Service("worker")!.Spec;
        Assert.Equal(["demo_backend", "demo_frontend"], worker.TaskTemplate.Networks.Select(n => n.Target));
        Assert.Equal("VOTING", worker.Labels["APP"]);
        Assert.Equal(new RestartPolicy(RestartCondition.OnFailure, TimeSpan.FromSeconds(10), 3, TimeSpan.FromMinutes(2)), worker.TaskTemplate.Restart);
        Assert.Equal(["node.role == manager"], worker.TaskTemplate.Placement.Constraints.ToArray());

        var db = stack.Service("db")!.Spec.TaskTemplate.Container;
        Assert.Equal(["POSTGRES_PASSWORD=postgres", "POSTGRES_USER=postgres"], db.Env.ToArray());
        var data = Assert.Single(db.Mounts);
        Assert.Equal((MountType.Volume, "demo_db-data", "/var/lib/postgresql/data"), (data.Type, data.Source, data.Target));
        Assert.Equal("demo", data.VolumeLabels[StackModel.NamespaceLabel]);

        var visualizer = stack.Service("visualizer")!.Spec;
        Assert.Equal(["demo_default: visualizer"], Attachments(visualizer.TaskTemplate.Networks));
        Assert.Equal(TimeSpan.FromSeconds(90), visualizer.TaskTemplate.Container.StopGracePeriod);
        Assert.Equal(new MountSpec(MountType.Bind, "/var/run/docker.sock", "/var/run/docker.sock"), Assert.Single(visualizer.TaskTemplate.Container.Mounts));

        Assert.Equal(["backend", "default", "frontend"], stack.Networks.Select(n => n.Key));
        Assert.All(stack.Networks, n => Assert.Equal($"demo_{n.Key}", n.Spec!.Name));
        Assert.All(stack.Networks, n => Assert.Equal("demo", n.Spec!.Labels[StackModel.NamespaceLabel]));
        Assert.Equal("demo_db-data", Assert.Single(stack.Volumes).Name);
    }

    [Fact]
    public void A_Stop_Grace_Period_Of_Zero_Is_Kept_And_None_Is_Dockers_Default()
    {
        var result = LoadText("services:\n  now:\n    image: busybox\n    stop_grace_period: 0s\n  later:\n    image: busybox\n");

        Assert.Empty(result.Errors.Select(e => e.ToString()));
        Assert.Equal(TimeSpan.Zero, result.Stack!.Service("now")!.Spec.TaskTemplate.Container.StopGracePeriod);
        Assert.Null(result.Stack.Service("later")!.Spec.TaskTemplate.Container.StopGracePeriod);
    }

    [Fact]
    public void Init_And_Sysctls_In_Either_Form_Reach_The_Container_Spec()
    {
        var stack = LoadValid("init-sysctls.yml");
        var queue = stack.Service("queue")!.Spec.TaskTemplate.Container;
        var web = stack.Service("web")!.Spec.TaskTemplate.Container;

        Assert.True(queue.Init);
        Assert.Equal(
            [KeyValuePair.Create("kernel.shmmax", "68719476736"), KeyValuePair.Create("net.core.somaxconn", "1024"), KeyValuePair.Create("net.ipv4.ip_unprivileged_port_start", "0")],
            queue.Sysctls.ToArray());
        Assert.False(web.Init);
        Assert.Equal([KeyValuePair.Create("fs.mqueue.msg_max", "20"), KeyValuePair.Create("kernel.shm_rmid_forced", "1")], web.Sysctls.ToArray());
    }

    [Fact]
    public void Every_Supported_Key_Reaches_The_Spec()
    {
        var stack = LoadValid("every-key.yml");
        var app = stack.Service("app")!;
        var spec = app.Spec;
        var container = spec.TaskTemplate.Container;

        Assert.Equal("example/app:1.2", container.Image);
        Assert.Equal(["/bin/tini", "--"], container.Command.ToArray());
        Assert.Equal(["sh", "-c", "exec app --level \"${LEVEL}\""], container.Args.ToArray());
        Assert.Equal(["FROM_FILE=file value", "HOME=/home/ann", "OVERRIDDEN=from the compose file", "PLAIN=1"], container.Env.ToArray());
        Assert.Equal(
            [new(8080, 80), new(53, 53, PortProtocol.Udp), new(9000, 9000), new(70, 7000), new(71, 7001), new(443, 8443, PortProtocol.Tcp, PublishMode.Host)],
            spec.Endpoint.Ports.ToArray());
        Assert.Equal(["demo_back: app", "demo_front: application, app.internal, app"], Attachments(spec.TaskTemplate.Networks));
        Assert.Equal(
            [
                new MountSpec(MountType.Volume, "demo_data", "/var/lib/app", VolumeLabels: Labels(("com.example.backup", "nightly"), (StackModel.NamespaceLabel, "demo"))),
                new MountSpec(MountType.Bind, Path.Combine(Valid, "conf"), "/etc/app", ReadOnly: true),
                new MountSpec(MountType.Volume, "app-cache", "/cache", VolumeNoCopy: true, VolumeLabels: Labels((StackModel.NamespaceLabel, "demo")), VolumeDriver: "local"),
                new MountSpec(MountType.Bind, "/home/ann/logs", "/logs", ReadOnly: true, BindPropagation: MountPropagation.RPrivate),
                new MountSpec(MountType.Tmpfs, "", "/scratch", TmpfsSizeBytes: 64 << 20),
                new MountSpec(MountType.Tmpfs, "", "/run", TmpfsSizeBytes: 16 << 20, TmpfsMode: 1023),
            ],
            container.Mounts.ToArray());
        var health = container.HealthCheck!;
        Assert.Equal(["CMD", "curl", "-f", "http://localhost:8080/health"], health.Test.ToArray());
        Assert.Equal((TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(5), 4L, TimeSpan.FromMinutes(1)), (health.Interval, health.Timeout, health.Retries, health.StartPeriod));
        Assert.Equal(((TimeSpan?)TimeSpan.FromSeconds(20), "SIGINT", "1000:1000", "/srv", "app-host", true), (container.StopGracePeriod, container.StopSignal, container.User, container.Dir, container.Hostname, container.ReadOnly));
        Assert.Equal(Labels(("com.example.empty", ""), ("com.example.role", "app"), (StackModel.NamespaceLabel, "demo")), container.Labels);
        Assert.Equal([new Ulimit("nproc", 512, 512), new Ulimit("nofile", 1024, 4096)], container.Ulimits.ToArray());
        Assert.Equal(["CAP_NET_ADMIN"], container.CapabilityAdd.ToArray());
        Assert.Equal(["ALL"], container.CapabilityDrop.ToArray());
        Assert.Equal(["10.0.0.5 db.local"], container.Hosts.ToArray());

        // By their names on the swarm, ids left for the managers to fill in.
        Assert.Equal(
            [new SecretReference("", "demo_api-key", new FileTarget("api-key")), new SecretReference("", "site-tls", new FileTarget("server.pem", "1000", "1000", 256))],
            container.Secrets.ToArray());
        Assert.Equal([new ConfigReference("", "demo_nginx", new FileTarget("/etc/nginx/conf.d/app.conf"))], container.Configs.ToArray());
        Assert.True(container.Init);
        Assert.Equal([KeyValuePair.Create("net.core.somaxconn", "1024")], container.Sysctls.ToArray());

        Assert.Equal(ServiceMode.ReplicatedMode(3), spec.Mode);
        Assert.Equal("web", spec.Labels["com.example.tier"]);
        Assert.Equal(["node.labels.zone != edge"], spec.TaskTemplate.Placement.Constraints.ToArray());
        Assert.Equal([new PlacementPreference("node.labels.zone")], spec.TaskTemplate.Placement.Preferences.ToArray());
        Assert.Equal(2, spec.TaskTemplate.Placement.MaxReplicasPerNode);
        Assert.Equal(new ResourceRequirements(new ResourceAmounts(1_500_000_000, 1L << 30, 200), new ResourceAmounts(250_000_000, 128 << 20)), spec.TaskTemplate.Resources);
        Assert.Equal(new RestartPolicy(RestartCondition.OnFailure, TimeSpan.FromSeconds(2), 5, TimeSpan.FromMinutes(1)), spec.TaskTemplate.Restart);
        Assert.Equal(new UpdateConfig(2, TimeSpan.FromSeconds(5), FailureAction.Rollback, TimeSpan.FromSeconds(30), 0.25, UpdateOrder.StartFirst), spec.Update);
        Assert.Equal(UpdateConfig.Default with { Parallelism = 0, FailureAction = FailureAction.Continue }, spec.Rollback);
        Assert.Equal(EndpointMode.Vip, spec.Endpoint.Mode);

        var job = stack.Service("job")!.Spec;
        Assert.Equal(ServiceMode.ReplicatedJobMode(1, 4), job.Mode);
        Assert.Equal(RestartPolicy.JobDefault, job.TaskTemplate.Restart);
        Assert.Equal(["NONE"], job.TaskTemplate.Container.HealthCheck!.Test.ToArray());
        Assert.Equal(EndpointMode.Dnsrr, job.Endpoint.Mode);
        Assert.Equal(["demo_default: job"], Attachments(job.TaskTemplate.Networks));

        Assert.Equal(["back", "default", "front"], stack.Networks.Select(n => n.Key));
        var front = stack.Networks.Single(n => n.Key == "front").Spec!;
        Assert.Equal(("demo_front", "10.20.0.0/24", true, "front"), (front.Name, front.Subnet, front.Attachable, front.Labels["com.example.net"]));
        var back = stack.Networks.Single(n => n.Key == "back").Spec!;
        Assert.Equal((true, "1400"), (back.Internal, back.Options[NetworkSpec.MtuOption]));
        Assert.Equal([("cache", "app-cache", false), ("data", "demo_data", false), ("old", "legacy-data", true)], stack.Volumes.Select(v => (v.Key, v.Name, v.External)));
        Assert.Equal([("api-key", "demo_api-key", Path.Combine(Valid, "every-key.secret.txt"), false), ("tls", "site-tls", null, true)], stack.Secrets.Select(s => (s.Key, s.Name, s.File, s.External)));
        Assert.Equal(Path.Combine(Valid, "every-key.conf"), Assert.Single(stack.Configs).File);
    }

    [Fact]
    public void Secrets_And_Configs_Reach_The_Spec_By_Their_Swarm_Names_With_Dockers_Default_Targets()
    {
        var stack = LoadValid("secrets-configs.yml");

        var container = stack.Service("db")!.Spec.TaskTemplate.Container;
        Assert.Equal(
            [
                new SecretReference("", "corp-tls", new FileTarget("tls")),
                new SecretReference("", "demo_db_password", new FileTarget("db_password")),
                new SecretReference("", "demo_db_password", new FileTarget("password_copy", "999", "999", 256)),
            ],
            container.Secrets.ToArray());
        Assert.Equal(
            [new ConfigReference("", "shared_nginx", new FileTarget("nginx")), new ConfigReference("", "shared_nginx", new FileTarget("/etc/nginx/nginx.conf", Mode: 288))],
            container.Configs.ToArray());
        var secret = stack.Secrets.Single(s => s.Key == "db_password");
        Assert.Equal((Path.Combine(Valid, "secrets", "db_password.txt"), false), (secret.File, secret.External));
        Assert.Equal(Labels(("com.example.kind", "password"), (StackModel.NamespaceLabel, "demo")), secret.Labels);
        Assert.Equal([("tls", "corp-tls", true)], stack.Secrets.Where(s => s.External).Select(s => (s.Key, s.Name, s.External)));
        Assert.Equal(("shared_nginx", Path.Combine(Valid, "secrets", "nginx.conf")), (Assert.Single(stack.Configs).Name, stack.Configs[0].File));
    }

    [Fact]
    public void Port_Ranges_Become_One_Port_Each_As_Dockers_Stack_Deploy_Makes_Them()
    {
        var web = LoadValid("port-ranges.yml").Service("web")!.Spec;

        // docker's `stack config` of the same file lists these ports, in this order.
        Assert.Equal(
            [
                new(80, 8400), new(81, 8401), new(82, 8402),
                new(90, 8500), new(90, 8501), new(90, 8502),
                new(100, 0, PortProtocol.Udp), new(101, 0, PortProtocol.Udp),
                new PortConfig(60, 8600),
            ],
            web.Endpoint.Ports.ToArray());
    }

    [Fact]
    public void A_Host_Ip_On_A_Port_Is_Ignored_With_Dockers_Warning()
    {
        var result = ComposeLoader.Load([Path.Combine(Valid, "every-key.yml")], "demo", ComposeCorpusTests.Environment);

        Assert.Contains(result.Warnings, w => w.Contains("ignoring IP-address (127.0.0.1:9000:9000)", StringComparison.Ordinal));
    }

    [Fact]
    public void A_Later_File_Overrides_Scalars_And_Merges_Maps_And_Lists_By_Key()
    {
        var stack = LoadValid("multi/base.yml", "multi/prod.yml");

        Assert.Equal(["cache", "web", "worker"], stack.Services.Select(s => s.ShortName));
        var web = stack.Service("web")!.Spec;
        var container = web.TaskTemplate.Container;
        Assert.Equal("example/web:1.1", container.Image);
        Assert.Equal(["serve"], container.Args.ToArray());
        Assert.Equal(["LOG_LEVEL=warn", "REGION=eu"], container.Env.ToArray());
        Assert.Equal([new PortConfig(80, 80), new PortConfig(443, 443)], web.Endpoint.Ports.ToArray());
        Assert.Equal("demo_other", Assert.Single(container.Mounts).Source);
        Assert.Equal(("web", "prod"), (container.Labels["tier"], container.Labels["stage"]));
        Assert.Equal(ServiceMode.ReplicatedMode(4), web.Mode);
        Assert.Equal(["node.role == worker", "node.labels.ssd == true"], web.TaskTemplate.Placement.Constraints.ToArray());
        Assert.Equal(["data", "other"], stack.Volumes.Select(v => v.Key));
    }

    [Fact]
    public void Anchors_And_Merge_Keys_Are_Resolved_With_The_Services_Own_Keys_Winning()
    {
        var result = ComposeLoader.Load([Path.Combine(Valid, "anchors.yml")], "demo", ComposeCorpusTests.Environment);

        Assert.Equal(2, result.Stack!.Service("a")!.Spec.Mode.Replicas);
        Assert.Equal(5, result.Stack.Service("b")!.Spec.Mode.Replicas);
        Assert.Equal(RestartCondition.Any, result.Stack.Service("b")!.Spec.TaskTemplate.Restart.Condition);
        Assert.Equal(["Ignoring unsupported options: restart\n"], result.Warnings.ToArray());
    }

    [Fact]
    public void A_Directory_Where_A_File_Is_Expected_Is_Called_A_Directory_At_Its_Key()
    {
        Directory.CreateDirectory(Path.Combine(_temp, "envs"));
        Directory.CreateDirectory(Path.Combine(_temp, "certs"));
        Directory.CreateDirectory(Path.Combine(_temp, "conf.d"));

        var result = LoadText("""
            services:
              web:
                image: nginx:1.27
                env_file: ./envs
            secrets:
              tls:
                file: ./certs
            configs:
              site:
                file: conf.d
            """);

        Assert.Equal(
        [
            $"4:15: services.web.env_file: ./envs is a directory ({_temp}/envs); env_file names files of KEY=VALUE lines",
            $"7:11: secrets.tls.file: ./certs is a directory ({_temp}/certs); name the file whose content becomes the secret",
            $"10:11: configs.site.file: conf.d is a directory ({_temp}/conf.d); name the file whose content becomes the config",
        ], result.Errors.Select(e => $"{e.Mark.Line}:{e.Mark.Column}: {e.Path}: {e.Message}"));
    }

    [Fact]
    public void An_External_Network_Named_Host_Puts_The_Service_On_The_Host_Network_As_Dockers_Stack_Does()
    {
        var result = LoadText("""
            services:
              web:
                image: nginx:1.27
                networks: [hostnet]
                ports:
                  - {target: 80, published: 80, mode: host}
              batch:
                image: busybox
                networks: [nothing]
            networks:
              hostnet:
                external: true
                name: host
              nothing:
                external:
                  name: none
            """);

        Assert.Empty(result.Errors);
        Assert.Equal<string>(["host"], result.Stack!.Service("web")!.Spec.TaskTemplate.Networks.Select(n => n.Target));
        Assert.Equal<string>(["none"], result.Stack.Service("batch")!.Spec.TaskTemplate.Networks.Select(n => n.Target));
        Assert.Equal([("host", true), ("none", true)], result.Stack.Networks.Select(n => (n.Name, n.External)).OrderBy(n => n.Name));
    }

    [Fact]
    public void An_External_Network_Named_Bridge_Puts_The_Service_On_Its_Nodes_Bridge_Without_The_Services_Alias_There()
    {
        var result = LoadText("""
            services:
              web:
                image: nginx:1.27
                networks: [local, back]
                ports:
                  - {target: 80, published: 8080, mode: host}
            networks:
              local:
                external: true
                name: bridge
              back: {}
            """);

        Assert.Empty(result.Errors);
        var networks = result.Stack!.Service("web")!.Spec.TaskTemplate.Networks;
        // As docker's stack deploy: targets in name order, the service's name an alias on the stack's own network only.
        Assert.Equal<string>(["bridge", "demo_back"], networks.Select(n => n.Target));
        Assert.Empty(networks[0].Aliases);
        Assert.Equal<string>(["web"], networks[1].Aliases);
        Assert.Empty(ServiceSpecValidator.Validate(result.Stack.Service("web")!.Spec));
    }

    [Fact]
    public void The_Host_Network_Beside_Another_Or_With_A_Mesh_Port_Is_Refused_Where_The_File_Says_So()
    {
        var result = LoadText("""
            services:
              web:
                image: nginx:1.27
                networks: [hostnet, nothing]
                ports: ["8080:80"]
            networks:
              hostnet:
                external: true
                name: host
              nothing:
                external:
                  name: none
            """);

        Assert.Equal(
        [
            "4:15: services.web.networks: Spec.TaskTemplate.Networks[0].Target: a task on the host network shares its node's network namespace, and a container sharing the network namespace with the host cannot be connected to any other network; attach host alone (--network host), or leave it out and attach overlay networks",
            "4:15: services.web.networks: Spec.TaskTemplate.Networks[1].Target: a task on none has a network namespace with loopback alone, and a container cannot be connected to multiple networks with one of the networks in private (none) mode; attach none alone (--network none), or leave it out and attach overlay networks",
            "5:12: services.web.ports: Spec.EndpointSpec.Ports[0].PublishMode: a port published through the routing mesh (mode=ingress) joins the tasks to the ingress network, and a task on the host network can join no other network; publish it with mode=host (published=80,target=80,mode=host: the task's own port on its node), or leave --network host out",
        ], result.Errors.Select(e => $"{e.Mark.Line}:{e.Mark.Column}: {e.Path}: {e.Message}"));
    }

    [Fact]
    public void A_Directory_Given_As_The_Compose_File_Is_Called_A_Directory()
    {
        var result = ComposeLoader.Load([_temp], "demo", new Dictionary<string, string>());

        var error = Assert.Single(result.Errors);
        Assert.Equal($"{_temp}: is a directory, not a compose file; give the file itself, e.g. -c {_temp}/docker-compose.yml", error.ToString());
        Assert.Null(result.Stack);
    }

    [Fact]
    public void Max_Replicas_Per_Node_On_A_Global_Service_Is_Dropped_With_A_Warning_As_Swarmkit_Ignores_It()
    {
        var result = ComposeLoader.Load([Path.Combine(Valid, "global-max-per-node.yml")], "demo", ComposeCorpusTests.Environment);

        Assert.True(result.IsValid, string.Join("\n", result.Errors));
        var spec = result.Stack!.Service("agent")!.Spec;
        Assert.True(spec.Mode.IsGlobal);
        Assert.Equal(0, spec.TaskTemplate.Placement.MaxReplicasPerNode);
        Assert.Empty(ServiceSpecValidator.Validate(spec));
        Assert.Equal(
            ["Ignoring services.agent.deploy.placement.max_replicas_per_node: a global service runs one task on each node, so a limit per node does not apply"],
            result.Warnings.ToArray());
    }

    [Fact]
    public void The_Managers_Check_Runs_On_Every_Service_Read_Without_Errors_Of_Its_Own_And_Not_Again_On_One_With_Errors()
    {
        var result = LoadText("""
            services:
              web:
                image: nginx:1.27
                healthcheck:
                  test: ["CMD"]
              broken:
                image: ""
                deploy:
                  replicas: many
            """);

        Assert.Null(result.Stack);
        var errors = result.Errors.Select(e => $"{e.Mark.Line}:{e.Mark.Column}: {e.Path}: {e.Message}").ToArray();
        Assert.Contains("5:13: services.web.healthcheck.test: Spec.TaskTemplate.ContainerSpec.Healthcheck.Test: CMD names no command; give the command with --health-cmd", errors);
        Assert.DoesNotContain(errors, e => e.Contains("services.broken", StringComparison.Ordinal) && e.Contains("Spec.", StringComparison.Ordinal));
    }

    [Fact]
    public void Version_3_0_Reads_Global_Mode_Cpus_And_A_Command_Split_As_A_Shell_Would()
    {
        var api = LoadValid("version-3.0.yml").Service("api")!.Spec;

        Assert.Equal(ServiceMode.GlobalMode, api.Mode);
        Assert.Equal(["serve", "--port", "8080"], api.TaskTemplate.Container.Args.ToArray());
        Assert.Equal(new ResourceAmounts(500_000_000, 256 << 20), api.TaskTemplate.Resources.Limits);
        Assert.Equal([new PortConfig(8080)], api.Endpoint.Ports.ToArray());
    }

    [Fact]
    public void Ignored_Keys_Give_One_Warning_Each_Kind_In_Dockers_Words()
    {
        var result = LoadText("""
            services:
              a:
                image: x
                build: .
                restart: always
                container_name: a1
                stdin_open: true
              b:
                image: y
                build: .
                privileged: true
                expose: ["80"]
            """);

        Assert.True(result.IsValid);
        Assert.Equal(
            [
                "Ignoring unsupported options: build, privileged, restart\n",
                "Ignoring deprecated options:\n\ncontainer_name: Setting the container name is not supported.\nexpose: Exposing ports is unnecessary - services on the same network can access each other's containers on any port.\n",
                "Ignoring options ProtoSwarm does not support yet: stdin_open",
            ],
            result.Warnings.ToArray());
        Assert.Equal(RestartCondition.Any, result.Stack!.Service("a")!.Spec.TaskTemplate.Restart.Condition);
    }

    [Fact]
    public void Tty_Is_The_Containers_Terminal_As_Service_Create_Tty_Gives_It()
    {
        var result = LoadText("""
            services:
              a:
                image: x
                tty: true
              b:
                image: y
                tty: false
              c:
                image: z
            """);

        Assert.True(result.IsValid);
        Assert.Empty(result.Warnings);
        Assert.True(result.Stack!.Service("a")!.Spec.TaskTemplate.Container.TTY);
        Assert.False(result.Stack.Service("b")!.Spec.TaskTemplate.Container.TTY);
        Assert.False(result.Stack.Service("c")!.Spec.TaskTemplate.Container.TTY);
    }

    [Fact]
    public void A_Tty_That_Is_Not_A_Boolean_Is_An_Error_At_Its_Line()
    {
        var result = LoadText("""
            services:
              a:
                image: x
                tty: please
            """);

        Assert.False(result.IsValid);
        Assert.Contains(result.Errors.Select(e => e.ToString()),
            e => e.Contains(":4:", StringComparison.Ordinal) && e.Contains("tty: expected true or false", StringComparison.Ordinal));
    }

    [Fact]
    public void A_Dot_Env_File_Beside_The_File_Is_Not_Read_As_Dockers_Stack_Reads_None()
    {
        File.WriteAllText(Path.Combine(_temp, ".env"), "# defaults\nIMAGE=from-dotenv\nTAG=0.9\n");
        var result = LoadText("""
            services:
              web:
                image: example/${IMAGE:-web}:${TAG}
                environment:
                  - UNSET=${NOPE}
            """, new Dictionary<string, string> { ["TAG"] = "2.0" });

        Assert.Equal("example/web:2.0", result.Stack!.Service("web")!.Spec.TaskTemplate.Container.Image);
        Assert.Equal(["UNSET="], result.Stack.Service("web")!.Spec.TaskTemplate.Container.Env.ToArray());
        Assert.Contains("The \"NOPE\" variable is not set. Defaulting to a blank string.", result.Warnings.ToArray());
    }

    [Fact]
    public void Files_Of_Different_Versions_Are_Refused()
    {
        var first = Path.Combine(_temp, "a.yml");
        var second = Path.Combine(_temp, "b.yml");
        File.WriteAllText(first, "version: \"3.8\"\nservices:\n  web:\n    image: x\n");
        File.WriteAllText(second, "version: \"3.7\"\nservices:\n  web:\n    image: y\n");

        var result = ComposeLoader.Load([first, second], "demo", new Dictionary<string, string>());

        Assert.Equal([$"{second}:1:10: version: the files name different versions, 3.8 and 3.7; give every file the same version"], result.Errors.Select(e => e.ToString()));
    }

    [Fact]
    public void An_Override_File_May_Leave_Out_The_Image_The_Base_File_Gives()
    {
        var first = Path.Combine(_temp, "a.yml");
        var second = Path.Combine(_temp, "b.yml");
        File.WriteAllText(first, "services:\n  web:\n    image: x\n");
        File.WriteAllText(second, "services:\n  web:\n    deploy:\n      replicas: 3\n");

        var result = ComposeLoader.Load([first, second], "demo", new Dictionary<string, string>());

        Assert.Equal(3, result.Stack!.Service("web")!.Spec.Mode.Replicas);
    }

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("$$HOME and $$", "$HOME and $")]
    [InlineData("${A}-$A-${A:-x}-${A-x}", "a-a-a-a")]
    [InlineData("${EMPTY:-x}|${EMPTY-x}|${UNSET:-x}|${UNSET-x}", "x||x|x")]
    [InlineData("${EMPTY?}|${A:?}", "|a")]
    [InlineData("${A}_1$A", "a_1a")]
    public void Interpolation_Follows_Composes_Rules(string text, string expected)
    {
        var environment = new Dictionary<string, string> { ["A"] = "a", ["EMPTY"] = "" };

        var result = Interpolation.Apply(text, environment.GetValueOrDefault, new HashSet<string>());

        Assert.True(result.IsValid, result.Error);
        Assert.Equal(expected, result.Value);
    }

    [Theory]
    [InlineData("${UNSET:?give it}", "required variable UNSET is missing a value: give it")]
    [InlineData("${EMPTY:?}", "required variable EMPTY is missing a value")]
    [InlineData("${UNSET?}", "required variable UNSET is missing a value")]
    [InlineData("${A", "invalid interpolation")]
    [InlineData("${}", "invalid interpolation")]
    [InlineData("${A:x}", "invalid interpolation")]
    [InlineData("cost: $5", "invalid interpolation")]
    public void Interpolation_Errors_Say_What_Is_Missing(string text, string expected)
    {
        var environment = new Dictionary<string, string> { ["A"] = "a", ["EMPTY"] = "" };

        var result = Interpolation.Apply(text, environment.GetValueOrDefault, new HashSet<string>());

        Assert.Contains(expected, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Env_Files_Skip_Comments_And_Keep_Values_As_Written()
    {
        var (variables, error) = EnvFile.Parse("# c\n\n  A=1\nB=x=y\nC\nD=\"q\"\n");

        Assert.Null(error);
        Assert.Equal([new("A", "1"), new("B", "x=y"), new("C", null), new KeyValuePair<string, string?>("D", "\"q\"")], variables);
        Assert.Equal((2, "variable 'A B' holds white space; write KEY=VALUE with no space around the name"), EnvFile.Parse("OK=1\nA B=2\n").Error);
    }

    [Theory]
    [InlineData("true", "5:13: services.web.healthcheck.test: expected a command string or a list of strings, got the boolean true; quote it to run it as a command: \"true\"")]
    [InlineData("3", "5:13: services.web.healthcheck.test: expected a command string or a list of strings, got the number 3; quote it to run it as a command: \"3\"")]
    [InlineData("[CMD, false]", "5:19: services.web.healthcheck.test[1]: expected a command string or a list of strings, got the boolean false; quote it to run it as a command: \"false\"")]
    public void A_Healthcheck_Test_That_Is_A_Boolean_Or_A_Number_Is_Refused_As_Dockers_Schema_Does(string test, string expected)
    {
        var result = LoadText($"services:\n  web:\n    image: nginx\n    healthcheck:\n      test: {test}\n");
        var quoted = LoadText("services:\n  web:\n    image: nginx\n    healthcheck:\n      test: \"true\"\n");

        Assert.Equal([$"{Path.Combine(_temp, "stack.yml")}:{expected}"], result.Errors.Select(e => e.ToString()));
        Assert.Empty(quoted.Errors);
        Assert.Equal(["CMD-SHELL", "true"], quoted.Stack!.Service("web")!.Spec.TaskTemplate.Container.HealthCheck!.Test.ToArray());
    }

    [Theory]
    [InlineData("services:\n  a:\n    image: busybox\n    command: [a, b\n  b:\n    image: x\n", "4:16")]
    [InlineData("services: {a: {image: x}\nnetworks: {}\n", "1:24")]
    public void A_Flow_List_Or_Map_Left_Open_Is_A_Syntax_Error_At_A_Place_Not_An_Internal_Error(string yaml, string at)
    {
        // YamlDotNet throws InvalidOperationException, without a position, for these; the CLI said
        // "unexpected InvalidOperationException: Operation is not valid due to the current state of the object".
        var result = LoadText(yaml);

        var error = Assert.Single(result.Errors).ToString();
        Assert.Equal($"{Path.Combine(_temp, "stack.yml")}:{at}: YAML syntax: the text cannot be read past this point; a [ or {{ above is probably not closed (or misses a comma)", error);
    }

    [Theory]
    [InlineData("services:\n  web:\n    image: busybox\n\tcommand: [sh]\n", "4:1")]
    [InlineData("services:\n  web:\n    image: busybox\n    environment:\n\t  A: b\n", "5:1")]
    [InlineData("# a tab after code is fine:\tx\nservices:\n  web:\n    image: busybox\n    environment:\n      A: b\n  \tB: c\n", "7:3")]
    public void A_Tab_In_The_Indentation_Is_Refused_Where_The_Tab_Is(string yaml, string at)
    {
        // YamlDotNet placed these at the end of the line above (3:12) or at the mapping's start (1:1).
        var result = LoadText(yaml);

        var error = Assert.Single(result.Errors).ToString();
        Assert.Equal($"{Path.Combine(_temp, "stack.yml")}:{at}: YAML syntax: a tab in the indentation; YAML indents with spaces only, replace it with spaces", error);
    }

    [Fact]
    public void A_Deploy_Mode_Whose_Variable_Is_Unset_Is_Replicated_As_Dockers_Convert_Reads_An_Empty_Mode()
    {
        var result = LoadText("services:\n  web:\n    image: nginx\n    deploy:\n      mode: ${MODE}\n      replicas: 2\n");

        Assert.Empty(result.Errors.Select(e => e.ToString()));
        Assert.Equal((ServiceModeKind.Replicated, 2L), (result.Stack!.Service("web")!.Spec.Mode.Kind, result.Stack.Service("web")!.Spec.Mode.Replicas));
    }

    [Fact]
    public void A_Mistyped_Key_Is_Hinted_With_The_Closest_Known_One()
    {
        Assert.Equal("replicas", ComposeReader.Closest("replcas", ComposeSchema.Deploy));
        Assert.Equal("environment", ComposeReader.Closest("enviroment", ComposeSchema.Service));
        Assert.Null(ComposeReader.Closest("colour", ComposeSchema.Deploy));
    }

    [Fact]
    public void A_Service_Network_Volume_Secret_Or_Config_Named_X_Something_Is_One_Not_An_Extension()
    {
        File.WriteAllText(Path.Combine(_temp, "s.txt"), "s");
        var result = LoadText("""
            version: "3.8"
            x-defaults: {image: busybox}
            services:
              x-api:
                image: busybox
                networks: [x-net]
                volumes: ["x-data:/data"]
                secrets: [x-key]
                configs: [x-conf]
            networks:
              x-net: {}
            volumes:
              x-data: {}
            secrets:
              x-key: {file: ./s.txt}
            configs:
              x-conf: {file: ./s.txt}
            """);

        Assert.Empty(result.Errors.Select(e => e.ToString()));
        var api = result.Stack!.Service("x-api")!.Spec;
        Assert.Equal("demo_x-api", api.Name);
        Assert.Equal(["demo_x-net"], api.TaskTemplate.Networks.Select(n => n.Target));
        Assert.Equal(["x-net"], result.Stack.Networks.Select(n => n.Key));
        Assert.Equal(["demo_x-data"], result.Stack.Volumes.Select(v => v.Name));
        Assert.Equal(["demo_x-key"], result.Stack.Secrets.Select(v => v.Name));
        Assert.Equal(["demo_x-conf"], result.Stack.Configs.Select(v => v.Name));
    }

    [Theory]
    [InlineData(null, 0)]
    [InlineData("3.7", 0)]
    [InlineData("3.13", 0)]
    [InlineData("3.6", 5)]
    public void X_Keys_Inside_A_Service_Network_Volume_Secret_Or_Config_Need_Version_3_7_As_Dockers_Schemas_Say(string? version, int errors)
    {
        File.WriteAllText(Path.Combine(_temp, "s.txt"), "s");
        var result = LoadText((version is null ? "" : $"version: \"{version}\"\n") + """
            services:
              web:
                image: busybox
                x-svc: 1
                secrets: [key]
                configs: [conf]
                volumes: ["data:/data"]
            networks:
              default: {x-n: 1}
            volumes:
              data: {x-v: 1}
            secrets:
              key: {file: ./s.txt, x-s: 1}
            configs:
              conf: {file: ./s.txt, x-c: 1}
            """);

        Assert.Equal(errors, result.Errors.Length);
        Assert.All(result.Errors.Select(e => e.ToString()), e => Assert.Contains("is not allowed here before compose file version 3.7, and this file says version 3.6", e, StringComparison.Ordinal));
        Assert.Equal(errors == 0, result.Stack?.Service("web") is not null);
    }

    [Fact]
    public void X_Keys_Elsewhere_Are_Refused_As_Docker_Refuses_Them_And_At_The_Top_Before_3_4()
    {
        var nested = LoadText("version: \"3.8\"\nservices:\n  web:\n    image: busybox\n    deploy:\n      x-d: 1\n");
        var old = LoadText("version: \"3.3\"\nx-top: 1\nservices:\n  web:\n    image: busybox\n");

        Assert.Equal(
            $"{Path.Combine(_temp, "stack.yml")}:6:7: services.web.deploy.x-d: extension key \"x-d\" is not allowed here: x- keys are extensions only at the top level and in a service, network, volume, secret or config; move it there",
            Assert.Single(nested.Errors).ToString());
        Assert.Contains("\"x-top\" is not allowed here before compose file version 3.4", Assert.Single(old.Errors).ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_Hostname_Template_Giving_The_Stack_Service_Name_With_Its_Underscore_Deploys()
    {
        var result = LoadText("services:\n  web:\n    image: busybox\n    hostname: \"{{.Service.Name}}-{{.Task.Slot}}\"\n");

        Assert.Empty(result.Errors.Select(e => e.ToString()));
        Assert.Equal("{{.Service.Name}}-{{.Task.Slot}}", result.Stack!.Service("web")!.Spec.TaskTemplate.Container.Hostname);
    }

    [Fact]
    public void Volume_Options_Docker_Ignores_Are_Ignored_And_A_Bind_Propagation_Is_Kept_In_Both_Syntaxes()
    {
        var result = LoadText("""
            services:
              bad:
                image: busybox
                volumes:
                  - "data:/data:rprivate"
                  - type: bind
                    source: /mnt
                    target: /mnt
                    bind:
                      propagation: sideways
                  - type: volume
                    source: data
                    target: /v
                    bind:
                      propagation: rshared
            volumes:
              data: {}
            """);

        Assert.Equal(
            [
                "services.bad.volumes[0]: 'data:/data:rprivate': propagation 'rprivate' is for bind mounts, and this is a volume; leave it out",
                "services.bad.volumes[1].bind.propagation: propagation 'sideways' is not a propagation; use rprivate, private, rshared, shared, rslave or slave",
                "services.bad.volumes[2].bind: bind: options are for type: bind, and this mount is type: volume",
            ],
            result.Errors.Select(e => $"{e.Path}: {e.Message}"));
        var web = LoadText("""
            services:
              web:
                image: busybox
                volumes:
                  - "/tmp:/t:cached"
                  - "/srv:/s:ro,z,rshared"
                  - "data:/data:consistent"
                  - type: bind
                    source: /mnt/media
                    target: /media
                    bind:
                      propagation: rslave
                  - type: bind
                    source: /opt
                    target: /opt
            volumes:
              data: {}
            """);
        Assert.Empty(web.Errors.Select(e => e.ToString()));
        Assert.Equal(
            [("/tmp", "/t", false, null), ("/srv", "/s", true, MountPropagation.RShared), ("demo_data", "/data", false, null), ("/mnt/media", "/media", false, MountPropagation.RSlave), ("/opt", "/opt", false, (MountPropagation?)null)],
            web.Stack!.Service("web")!.Spec.TaskTemplate.Container.Mounts.Select(m => (m.Source, m.Target, m.ReadOnly, m.BindPropagation)));
    }

    [Fact]
    public void A_Binds_Recursive_Option_Is_Read_As_The_Compose_Spec_And_Docker_Compose_Map_It()
    {
        var web = LoadText("""
            services:
              web:
                image: busybox
                volumes:
                  - {type: bind, source: /a, target: /a, read_only: true}
                  - {type: bind, source: /b, target: /b, read_only: true, bind: {recursive: enabled}}
                  - {type: bind, source: /c, target: /c, read_only: true, bind: {recursive: disabled}}
                  - {type: bind, source: /d, target: /d, read_only: true, bind: {recursive: writable}}
                  - {type: bind, source: /e, target: /e, read_only: true, bind: {recursive: readonly}}
            """);
        var bad = LoadText("""
            services:
              bad:
                image: busybox
                volumes:
                  - {type: bind, source: /a, target: /a, read_only: true, bind: {recursive: sometimes}}
                  - {type: bind, source: /b, target: /b, bind: {recursive: writable}}
                  - {type: bind, source: /c, target: /c, read_only: true, bind: {propagation: rshared, recursive: readonly}}
            """);

        Assert.Empty(web.Errors.Select(e => e.ToString()));
        Assert.Equal(
            [("/a", false, false, false), ("/b", false, false, false), ("/c", true, false, false), ("/d", false, true, false), ("/e", false, false, true)],
            web.Stack!.Service("web")!.Spec.TaskTemplate.Container.Mounts.Select(m => (m.Source, m.BindNonRecursive, m.BindReadOnlyNonRecursive, m.BindReadOnlyForceRecursive)));
        Assert.Equal(
            [
                "services.bad.volumes[0].bind.recursive: recursive 'sometimes' is not a choice; use enabled, disabled, writable or readonly",
                "services.bad.volumes[1].bind.recursive: recursive: writable is for a read-only bind; add read_only: true to the volume, or leave recursive out",
                "services.bad.volumes[2].bind.recursive: recursive: readonly needs propagation rprivate, not rshared; leave propagation out or give rprivate",
            ],
            bad.Errors.Select(e => $"{e.Path}: {e.Message}"));
    }

    [Theory]
    [InlineData("{propagation: rshared, recursive: readonly}")]
    [InlineData("{recursive: readonly, propagation: rshared}")]
    [InlineData("{recursive: readonly, x-note: n, propagation: rshared}")]
    public void A_Readonly_Recursive_Bind_With_Another_Propagation_Is_Refused_Whatever_The_Key_Order(string bind)
    {
        var bad = LoadText($$"""
            services:
              bad:
                image: busybox
                volumes:
                  - {type: bind, source: /c, target: /c, read_only: true, bind: {{bind}}}
            """);

        Assert.Equal(
            ["services.bad.volumes[0].bind.recursive: recursive: readonly needs propagation rprivate, not rshared; leave propagation out or give rprivate"],
            bad.Errors.Select(e => $"{e.Path}: {e.Message}"));
    }

    [Theory]
    [InlineData("{propagation: rprivate, recursive: readonly}")]
    [InlineData("{recursive: readonly, propagation: rprivate}")]
    public void A_Readonly_Recursive_Bind_With_Rprivate_Propagation_Loads_Whatever_The_Key_Order(string bind)
    {
        var web = LoadText($$"""
            services:
              web:
                image: busybox
                volumes:
                  - {type: bind, source: /c, target: /c, read_only: true, bind: {{bind}}}
            """);

        Assert.Empty(web.Errors.Select(e => e.ToString()));
        var mount = Assert.Single(web.Stack!.Service("web")!.Spec.TaskTemplate.Container.Mounts);
        Assert.Equal((true, MountPropagation.RPrivate), (mount.BindReadOnlyForceRecursive, mount.BindPropagation));
    }

    [Fact]
    public void Relative_Secret_And_Config_Targets_Are_Taken_As_Dockers_Daemon_Places_Them()
    {
        File.WriteAllText(Path.Combine(_temp, "s.txt"), "s");
        var result = LoadText("""
            services:
              web:
                image: busybox
                secrets: [{source: key, target: sub/s2}]
                configs: [{source: conf, target: relative/path}, {source: conf, target: /relative/path}]
            secrets:
              key: {file: ./s.txt}
            configs:
              conf: {file: ./s.txt}
            """);

        Assert.Equal(
            ["services.web.configs[1]: duplicate config target for /relative/path not allowed; give each config its own target:"],
            result.Errors.Select(e => $"{e.Path}: {e.Message}"));
        var fixedUp = LoadText("""
            services:
              web:
                image: busybox
                secrets: [{source: key, target: sub/s2}]
                configs: [{source: conf, target: relative/path}]
            secrets:
              key: {file: ./s.txt}
            configs:
              conf: {file: ./s.txt}
            """);
        var container = fixedUp.Stack!.Service("web")!.Spec.TaskTemplate.Container;
        Assert.Equal("sub/s2", Assert.Single(container.Secrets).File.Name);
        Assert.Equal("relative/path", Assert.Single(container.Configs).File.Name);
        Assert.Equal(("/run/secrets/sub/s2", "/relative/path"), (FileTargetRule.ContainerPath("secret", "sub/s2"), FileTargetRule.ContainerPath("config", "relative/path")));
    }

    [Theory]
    [InlineData("init: \"true\"", "services.web.init: expected a boolean, got the string \"true\"; write true without quotes")]
    [InlineData("read_only: \"true\"", "services.web.read_only: expected a boolean, got the string \"true\"; write true without quotes")]
    [InlineData("read_only: yes", "services.web.read_only: expected a boolean, got the string \"yes\" (compose files are YAML 1.2, where only true and false are booleans); write true")]
    [InlineData("tty: on", "services.web.tty: expected a boolean, got the string \"on\" (compose files are YAML 1.2, where only true and false are booleans); write true")]
    [InlineData("deploy: {replicas: \"3\"}", "services.web.deploy.replicas: expected an integer, got the string \"3\"; write 3 without quotes")]
    [InlineData("healthcheck: {test: [\"CMD\", \"true\"], retries: \"2\"}", "services.web.healthcheck.retries: expected an integer, got the string \"2\"; write 2 without quotes")]
    [InlineData("init: ${YES}", "services.web.init: expected a boolean, got the string \"true\" from a variable: docker converts a variable's value only at some keys (replicas, read_only, tty, ...), not here; write true in the file")]
    public void A_Number_Or_Boolean_Written_As_A_String_Is_Refused_As_Dockers_Schema_Refuses_It(string line, string expected)
    {
        var result = LoadText($"services:\n  web:\n    image: busybox\n    {line}\n", new Dictionary<string, string> { ["YES"] = "true" });

        var error = Assert.Single(result.Errors);
        Assert.Equal(expected, $"{error.Path}: {error.Message}");
        Assert.Equal(4, error.Mark.Line);
    }

    [Fact]
    public void A_Variable_Gives_A_Number_Or_A_Boolean_At_The_Keys_Docker_Casts()
    {
        var result = LoadText(
            "services:\n  web:\n    image: busybox\n    read_only: ${RO}\n    tty: \"${TTY}\"\n    deploy: {replicas: \"${N}\"}\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n      retries: ${N}\n",
            new Dictionary<string, string> { ["RO"] = "yes", ["TTY"] = "On", ["N"] = "3" });

        Assert.Empty(result.Errors.Select(e => e.ToString()));
        var spec = result.Stack!.Service("web")!.Spec;
        Assert.Equal((true, true, 3L), (spec.TaskTemplate.Container.ReadOnly, spec.TaskTemplate.Container.TTY, spec.Mode.Replicas));
    }

    [Theory]
    [InlineData("update_config: {max_failure_ratio: \"0.25\"}", "services.web.deploy.update_config.max_failure_ratio: expected a number, got the string \"0.25\"; write 0.25 without quotes", 5)]
    [InlineData("rollback_config: {max_failure_ratio: '1'}", "services.web.deploy.rollback_config.max_failure_ratio: expected a number, got the string \"1\"; write 1 without quotes", 5)]
    [InlineData("update_config: {max_failure_ratio: 1.5}", "services.web.deploy.update_config.max_failure_ratio: '1.5' is not a ratio; give a number from 0 to 1, e.g. 0.2", 5)]
    [InlineData("update_config: {max_failure_ratio: a lot}", "services.web.deploy.update_config.max_failure_ratio: expected a number, got \"a lot\"", 5)]
    [InlineData("update_config:\n        max_failure_ratio: ${HALF}x", "services.web.deploy.update_config.max_failure_ratio: expected a number, got \"0.5x\"", 6)]
    public void A_Failure_Ratio_Is_A_Number_Written_Plain_As_Dockers_Schema_Takes_It(string line, string expected, int lineNumber)
    {
        var result = LoadText($"services:\n  web:\n    image: busybox\n    deploy:\n      {line}\n", new Dictionary<string, string> { ["HALF"] = "0.5" });

        var error = Assert.Single(result.Errors);
        Assert.Equal(expected, $"{error.Path}: {error.Message}");
        Assert.Equal(lineNumber, error.Mark.Line);
    }

    [Fact]
    public void A_Failure_Ratio_Is_Read_Plain_Or_From_A_Variable_As_Dockers_Loader_Casts_It()
    {
        var result = LoadText(
            "services:\n  web:\n    image: busybox\n    deploy:\n      update_config: {max_failure_ratio: .25}\n      rollback_config: {max_failure_ratio: \"${R}\"}\n  api:\n    image: busybox\n    deploy:\n      update_config:\n        max_failure_ratio: ${ONE}\n      rollback_config: {max_failure_ratio: 5e-1}\n",
            new Dictionary<string, string> { ["R"] = "0.1", ["ONE"] = "1" });

        Assert.Empty(result.Errors.Select(e => e.ToString()));
        var web = result.Stack!.Service("web")!.Spec;
        var api = result.Stack!.Service("api")!.Spec;
        Assert.Equal((0.25, 0.1, 1.0, 0.5), (web.Update.MaxFailureRatio, web.Rollback.MaxFailureRatio, api.Update.MaxFailureRatio, api.Rollback.MaxFailureRatio));
    }

    [Theory]
    [InlineData("SIGNOPE")]
    [InlineData("\"99\"")]
    [InlineData("SIGRTMIN+16")]
    public void A_Stop_Signal_That_Names_No_Signal_Is_Refused_At_Its_Key(string signal)
    {
        var result = LoadText($"services:\n  web:\n    image: busybox\n    stop_signal: {signal}\n");

        var error = Assert.Single(result.Errors);
        Assert.Equal($"services.web.stop_signal: '{signal.Trim('"')}' is not a signal; use a signal name such as SIGTERM or SIGINT, or its number", $"{error.Path}: {error.Message}");
        Assert.Equal(4, error.Mark.Line);
    }

    [Theory]
    [InlineData("0440", 288)]
    [InlineData("0o440", 288)]
    [InlineData("440", 440)]
    [InlineData("0x120", 288)]
    [InlineData("0_440", 288)]
    [InlineData("0", 0)]
    [InlineData("0999", 0)]
    public void A_Mode_Written_Plain_Is_A_Yaml_1_1_Number_As_Dockers_Yaml_Reader_Takes_It(string mode, int expected)
    {
        File.WriteAllText(Path.Combine(_temp, "s.txt"), "s");
        var result = LoadText($"services:\n  web:\n    image: busybox\n    secrets: [{{source: s, mode: {mode}}}]\n    configs: [{{source: c, mode: {mode}}}]\nsecrets:\n  s: {{file: ./s.txt}}\nconfigs:\n  c: {{file: ./s.txt}}\n");

        if (mode == "0999")
        {
            // Not octal, so YAML takes the float 999: past 0777, and said so in octal.
            Assert.Equal(
                ["services.web.secrets[0].mode: 01747 is not a file mode; give one from 0 to 0777, such as 0440", "services.web.configs[0].mode: 01747 is not a file mode; give one from 0 to 0777, such as 0440"],
                result.Errors.Select(e => $"{e.Path}: {e.Message}"));
            return;
        }

        Assert.Empty(result.Errors.Select(e => e.ToString()));
        var container = result.Stack!.Service("web")!.Spec.TaskTemplate.Container;
        Assert.Equal((expected, expected), (container.Secrets.Single().File.Mode, container.Configs.Single().File.Mode));
    }

    [Theory]
    [InlineData("mode: \"0440\"", "services.web.secrets[0].mode: expected a file mode, a number such as 0440, got the string \"0440\"; write 0440 without quotes")]
    [InlineData("mode: '288'", "services.web.secrets[0].mode: expected a file mode, a number such as 0440, got the string \"288\"; write 288 without quotes")]
    [InlineData("mode: rw", "services.web.secrets[0].mode: expected a file mode from 0 to 0777 such as 0440, got \"rw\"")]
    [InlineData("mode: -1", "services.web.secrets[0].mode: -1 is not a file mode; give one from 0 to 0777, such as 0440")]
    [InlineData("mode: ${OCTAL}", "services.web.secrets[0].mode: expected a whole number from a variable, got \"0o440\": docker reads a variable's mode as a decimal number (Atoi); give the mode in decimal, e.g. 288 for 0440, or write it in the file")]
    public void A_Mode_Docker_Would_Refuse_Is_Refused_At_Its_Place(string line, string expected)
    {
        File.WriteAllText(Path.Combine(_temp, "s.txt"), "s");
        var result = LoadText($"services:\n  web:\n    image: busybox\n    secrets:\n      - source: s\n        {line}\nsecrets:\n  s: {{file: ./s.txt}}\n", new Dictionary<string, string> { ["OCTAL"] = "0o440" });

        var error = Assert.Single(result.Errors);
        Assert.Equal(expected, $"{error.Path}: {error.Message}");
        Assert.Equal((6, 15), (error.Mark.Line, error.Mark.Column));
    }

    [Fact]
    public void A_Mode_From_A_Variable_Is_Read_In_Decimal_As_Dockers_Atoi_Reads_It_With_A_Warning_For_A_Leading_Zero()
    {
        File.WriteAllText(Path.Combine(_temp, "s.txt"), "s");
        var result = LoadText(
            "services:\n  web:\n    image: busybox\n    secrets: [{source: s, mode: \"${ZERO}\"}]\n    configs:\n      - source: c\n        mode: ${DECIMAL}\nsecrets:\n  s: {file: ./s.txt}\nconfigs:\n  c: {file: ./s.txt}\n",
            new Dictionary<string, string> { ["ZERO"] = "0440", ["DECIMAL"] = "288" });

        Assert.Empty(result.Errors.Select(e => e.ToString()));
        var container = result.Stack!.Service("web")!.Spec.TaskTemplate.Container;
        Assert.Equal((440, 288), (container.Secrets.Single().File.Mode, container.Configs.Single().File.Mode));
        Assert.Equal(
            ["services.web.secrets[0].mode: the variable gave \"0440\", which docker reads as the decimal 440 (0670), not as 0440: write the mode in the file, or give 288 for 0440"],
            result.Warnings.Where(w => w.Contains("mode", StringComparison.Ordinal)).ToArray());
    }

    private static string[] Attachments(ImmutableArray<NetworkAttachment> networks) =>
        [.. networks.Select(n => $"{n.Target}: {string.Join(", ", n.Aliases)}")];

    private static ImmutableSortedDictionary<string, string> Labels(params (string Key, string Value)[] labels) =>
        ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, labels.Select(l => KeyValuePair.Create(l.Key, l.Value)));
}
