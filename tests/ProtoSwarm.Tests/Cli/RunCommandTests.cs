using System.Net.Sockets;
using System.Text;
using ProtoSwarm.Cli.Commands;
using ProtoSwarm.Cli.Terminal;
using ProtoSwarm.Client.Control;
using ProtoSwarm.Contracts;
using static ProtoSwarm.Tests.Cli.CliHarness;

namespace ProtoSwarm.Tests.Cli;

public sealed class RunCommandTests
{
    private static FakeNode Answering() => new(request => request switch
    {
        RunContainer m => new ContainerCreated("c0ffee0123456789abcdefghi", m.Name.Length > 0 ? m.Name : "happy_turing"),
        StopContainers m => new ContainersChanged([.. m.Containers.Select(c => new ContainerChange(c, ""))]),
        StartContainers m => new ContainersChanged([.. m.Containers.Select(c => new ContainerChange(c, ""))]),
        RemoveContainers m => new ContainersChanged([.. m.Containers.Select(c => c == "web.1.x"
            ? new ContainerChange(c, "cannot remove container \"/web.1.x\": it is a task's container")
            : new ContainerChange(c, ""))]),
        WaitContainer m => new ContainerExited(m.Container, 3),
        _ => throw new InvalidOperationException($"unexpected {request.GetType().Name}"),
    });

    [Fact]
    public async Task Run_Detached_Sends_The_Flags_And_Prints_The_Containers_Id()
    {
        Environment.SetEnvironmentVariable("PROTOSWARM_RUN_TEST_VAR", "from-shell");
        var node = Answering();

        var (code, output, error) = await RunAsync(node, "run", "-d", "--rm", "--name", "probe", "-e", "A=1", "-e", "PROTOSWARM_RUN_TEST_VAR", "-w", "/srv",
            "-u", "nobody", "--network", "appnet", "busybox", "wget", "-qO-", "web");

        Assert.True(code == 0, error);
        Assert.Equal("c0ffee0123456789abcdefghi\n", output);
        var request = Assert.IsType<RunContainer>(Assert.Single(node.Requests));
        Assert.Equal(("busybox", "probe", "/srv", "nobody", "appnet"), (request.Image, request.Name, request.WorkingDir, request.User, request.Network));
        Assert.Equal<string>(["wget", "-qO-", "web"], request.Command);
        Assert.Equal<string>(["A=1", "PROTOSWARM_RUN_TEST_VAR=from-shell"], request.Env);
        Assert.True(request.AutoRemove && request.Start && !request.Attach && !request.Tty);
        Assert.Null(request.Entrypoint);
    }

    [Theory]
    [InlineData("plain", new[] { "run", "-d", "busybox", "ls", "-l", "/" })]
    [InlineData("container run", new[] { "container", "run", "-d", "busybox", "ls", "-l", "/" })]
    [InlineData("--host first", new[] { "-H", "unix:///run/p.sock", "run", "-d", "busybox", "ls", "-l", "/" })]
    [InlineData("-- before the image", new[] { "run", "-d", "--", "busybox", "ls", "-l", "/" })]
    public async Task Everything_After_The_Image_Belongs_To_The_Command(string form, string[] args)
    {
        Assert.NotEmpty(form);
        var node = Answering();

        var (code, _, error) = await RunAsync(node, args);

        Assert.True(code == 0, error);
        var request = Assert.IsType<RunContainer>(Assert.Single(node.Requests));
        Assert.Equal("busybox", request.Image);
        Assert.Equal<string>(["ls", "-l", "/"], request.Command);
    }

    [Fact]
    public async Task Create_Only_Makes_The_Container_And_Entrypoint_Is_One_Word_An_Empty_One_Clears_It()
    {
        var node = Answering();

        Assert.Equal(0, (await RunAsync(node, "container", "create", "--entrypoint", "/bin/sh -x", "busybox", "-c", "true")).Code);
        Assert.Equal(0, (await RunAsync(node, "create", "--entrypoint", "", "busybox", "echo", "hi")).Code);

        var first = Assert.IsType<RunContainer>(node.Requests[0]);
        Assert.False(first.Start);
        Assert.Equal<string>(["/bin/sh -x"], first.Entrypoint!.Value);
        Assert.Equal<string>(["-c", "true"], first.Command);
        Assert.Empty(Assert.IsType<RunContainer>(node.Requests[1]).Entrypoint!.Value);
    }

    [Theory]
    [InlineData(new[] { "start", "-i", "one", "two" }, "you cannot start and attach multiple containers at once")]
    [InlineData(new[] { "run", "--cpus", "abc", "busybox" }, "--cpus 'abc' is not a number of CPUs; give a decimal number, e.g. --cpus 0.5.")]
    [InlineData(new[] { "run", "--memory", "10x", "busybox" }, "--memory '10x' is not a size; give a number and a unit (b, k, m, g, t), e.g. --memory 512m or 1g.")]
    [InlineData(new[] { "run", "-m", "1m", "busybox" }, "Minimum memory limit allowed is 6MB (--memory 1m)")]
    [InlineData(new[] { "run", "-m", "64m", "--memory-reservation", "128m", "busybox" }, "Minimum memory limit can not be less than memory reservation limit")]
    [InlineData(new[] { "run", "--memory-reservation", "lots", "busybox" }, "--memory-reservation 'lots' is not a size")]
    [InlineData(new[] { "run", "-l", "=x", "busybox" }, "--label '=x' needs a key")]
    [InlineData(new[] { "run", "--label-file", "/nonexistent/labels", "busybox" }, "--label-file /nonexistent/labels: no such file")]
    [InlineData(new[] { "run", "--env-file", "/nonexistent/env", "busybox" }, "--env-file /nonexistent/env: no such file")]
    [InlineData(new[] { "run", "--hostname", "a b", "busybox" }, "--hostname 'a b' is not a hostname")]
    [InlineData(new[] { "run", "--name", "-bad", "busybox" }, "Invalid container name (-bad)")]
    [InlineData(new[] { "run", "--name", "a b", "busybox" }, "only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")]
    [InlineData(new[] { "run", "--network", "none", "-p", "8080:80", "busybox" }, "Conflicting options: -p/--publish (or -P) and --network none")]
    [InlineData(new[] { "run", "--net", "none", "-P", "busybox" }, "a container on none has loopback alone")]
    [InlineData(new[] { "run", "-w", "tmp", "busybox" }, "it needs to be an absolute path")]
    [InlineData(new[] { "run", "--bogus", "busybox" }, "unknown flag: --bogus")]
    [InlineData(new[] { "run" }, "\"protoswarm run\" requires at least 1 argument")]
    [InlineData(new[] { "run", "--rm", "--restart", "always", "busybox" }, "Conflicting options: --restart and --rm")]
    [InlineData(new[] { "run", "--restart", "sometimes", "busybox" }, "invalid restart policy: unknown policy 'sometimes'")]
    [InlineData(new[] { "run", "-v", "data", "busybox" }, "must be absolute")]
    [InlineData(new[] { "run", "--mount", "type=floppy,target=/a", "busybox" }, "type 'floppy' is not a mount type")]
    [InlineData(new[] { "run", "-p", "8080:http", "busybox" }, "Invalid containerPort: http")]
    [InlineData(new[] { "start", "-a", "one", "two" }, "you cannot start and attach multiple containers at once")]
    [InlineData(new[] { "run", "--cap-add", "net-admin", "busybox" }, "--cap-add 'net-admin' is not a capability")]
    [InlineData(new[] { "run", "--stop-signal", "9x", "busybox" }, "--stop-signal '9x' is not a signal")]
    [InlineData(new[] { "run", "--stop-signal", "SIGNOPE", "busybox" }, "--stop-signal 'SIGNOPE' is not a signal")]
    [InlineData(new[] { "run", "--stop-timeout", "soon", "busybox" }, "invalid argument \"soon\" for \"--stop-timeout\" flag")]
    [InlineData(new[] { "run", "--stop-timeout", "-1", "busybox" }, "a stop that never turns to SIGKILL is not available here")]
    [InlineData(new[] { "run", "--health-interval", "often", "busybox" }, "--health-interval 'often'")]
    [InlineData(new[] { "run", "--health-retries", "x", "busybox" }, "--health-retries")]
    [InlineData(new[] { "run", "--no-healthcheck", "--health-cmd", "true", "busybox" }, "--no-healthcheck conflicts with --health-cmd")]
    [InlineData(new[] { "run", "--add-host", "db", "busybox" }, "--add-host 'db' is not a host mapping; write it as name:IP")]
    [InlineData(new[] { "run", "--dns", "resolver", "busybox" }, "--dns:")]
    [InlineData(new[] { "run", "--sysctl", "kernel.panic=1", "busybox" }, "--sysctl 'kernel.panic=1'")]
    [InlineData(new[] { "run", "--ulimit", "files=10", "busybox" }, "'files' is not a ulimit")]
    [InlineData(new[] { "run", "--pids-limit", "many", "busybox" }, "for \"--pids-limit\" flag")]
    [InlineData(new[] { "run", "--group-add", "a:b", "busybox" }, "--group-add 'a:b' is not a group")]
    [InlineData(new[] { "run", "--tmpfs", "run", "busybox" }, "invalid mount path run: it must be absolute")]
    [InlineData(new[] { "run", "--tmpfs", "/run:exec", "busybox" }, "option 'exec' is not available here")]
    [InlineData(new[] { "run", "--tmpfs", "/run:size=lots", "busybox" }, "'size=lots' is not a size")]
    [InlineData(new[] { "run", "--log-driver", "syslog", "busybox" }, "--log-driver: log driver \"syslog\" is not supported")]
    [InlineData(new[] { "run", "--log-opt", "max-size", "busybox" }, "--log-opt 'max-size' is not an option")]
    [InlineData(new[] { "run", "--expose", "http", "busybox" }, "invalid range format for --expose: http")]
    [InlineData(new[] { "run", "--expose", "80/sctp", "busybox" }, "invalid proto: sctp")]
    [InlineData(new[] { "run", "--shm-size", "big", "busybox" }, "--shm-size 'big' is not a size")]
    [InlineData(new[] { "create", "--read-only=maybe", "busybox" }, "maybe")]
    public async Task Bad_Use_Is_Refused_Before_Asking_The_Node(string[] args, string expected)
    {
        var node = Answering();

        var (code, _, error) = await RunAsync(node, args);

        // docker's run and create exit 125 for a refused flag; a missing IMAGE, and start's misuse, exit 1.
        Assert.Equal(args is ["run" or "create", _, ..] ? 125 : 1, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Empty(node.Requests);
    }

    [Theory]
    [InlineData(125, new[] { "container", "run", "--bogus", "busybox" })]
    [InlineData(125, new[] { "container", "create", "--cpus", "abc", "busybox" })]
    [InlineData(125, new[] { "create", "--rm", "--restart", "always", "busybox" })]
    [InlineData(1, new[] { "create" })]
    [InlineData(1, new[] { "container", "run" })]
    [InlineData(1, new[] { "network", "create", "--bogus", "n" })]
    [InlineData(1, new[] { "service", "create", "--replicas", "x", "busybox" })]
    public async Task Run_And_Create_Exit_125_For_A_Refused_Flag_As_Dockers_And_Other_Refusals_Stay_1(int exitCode, string[] args)
    {
        var node = Answering();

        var (code, _, _) = await RunAsync(node, args);

        Assert.Equal(exitCode, code);
        Assert.Empty(node.Requests);
    }

    [Fact]
    public async Task Run_Sends_Dockers_Confinement_Health_Resolver_Log_And_Port_Flags_As_A_Services_Flags_Of_The_Same_Meaning_Set_Them()
    {
        var node = Answering();

        var (code, _, error) = await RunAsync(node, "run", "-d", "--cap-add", "net_admin", "--cap-add", "CAP_SYS_TIME", "--cap-drop", "ALL", "--read-only", "--init",
            "--stop-signal", "SIGINT", "--stop-timeout", "3", "--health-cmd", "test -f /tmp/ok", "--health-interval", "1s", "--health-retries", "2",
            "--health-timeout", "500ms", "--health-start-period", "2s", "--health-start-interval", "100ms", "--add-host", "db:10.0.0.5",
            "--add-host", "v6:fd00::1", "--dns", "10.0.0.53", "--dns-option", "ndots:2", "--dns-search", "corp.example", "--sysctl", "net.core.somaxconn=1024",
            "--ulimit", "nofile=512:1024", "--pids-limit", "64", "--group-add", "audio", "--group-add", "2000", "--tmpfs", "/run:size=16m,mode=1777",
            "--tmpfs", "/cache", "--log-driver", "local", "--log-opt", "max-size=1m", "--expose", "8080", "--expose", "7000-7001/udp", "--shm-size", "128m",
            "busybox", "sleep", "60");

        Assert.True(code == 0, error);
        var request = Assert.IsType<RunContainer>(Assert.Single(node.Requests));
        Assert.Equal<string>(["CAP_NET_ADMIN", "CAP_SYS_TIME"], request.CapAdd);
        Assert.Equal<string>(["ALL"], request.CapDrop);
        Assert.True(request.ReadOnly);
        Assert.True(request.Init);
        Assert.Equal(("SIGINT", (int?)3), (request.StopSignal, request.StopTimeout));
        var health = request.HealthCheck!;
        Assert.Equal<string>(["CMD-SHELL", "test -f /tmp/ok"], health.Test);
        Assert.Equal((TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(500), 2L, TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(100)),
            (health.Interval, health.Timeout, health.Retries, health.StartPeriod, health.StartInterval));
        Assert.Equal<string>(["10.0.0.5 db", "fd00::1 v6"], request.Hosts);
        Assert.Equal<string>(["10.0.0.53"], request.Dns.Nameservers);
        Assert.Equal<string>(["ndots:2"], request.Dns.Options);
        Assert.Equal<string>(["corp.example"], request.Dns.Search);
        Assert.Equal("1024", request.Sysctls["net.core.somaxconn"]);
        Assert.Equal(new Ulimit("nofile", 512, 1024), Assert.Single(request.Ulimits));
        Assert.Equal(64, request.PidsLimit);
        Assert.Equal<string>(["audio", "2000"], request.GroupAdd);
        Assert.Equal<string>(["/run:size=16m,mode=1777", "/cache"], request.Tmpfs);
        Assert.Equal("local", request.LogDriver!.Name);
        Assert.Equal("1m", request.LogDriver.Options["max-size"]);
        Assert.Equal<string>(["8080", "7000-7001/udp"], request.Expose);
        Assert.Equal(128L << 20, request.ShmSize);
        Assert.Equal<string>(["sleep", "60"], request.Command);
    }

    [Fact]
    public async Task Left_Out_The_Flags_Keep_Dockers_Defaults_And_No_Healthcheck_And_A_Log_Opt_Alone_Are_Dockers()
    {
        var node = Answering();

        Assert.Equal(0, (await RunAsync(node, "create", "busybox")).Code);
        Assert.Equal(0, (await RunAsync(node, "create", "--no-healthcheck", "--log-opt", "max-size=2m", "--pids-limit", "-1", "busybox")).Code);

        var plain = Assert.IsType<RunContainer>(node.Requests[0]);
        Assert.Empty(plain.CapAdd);
        Assert.False(plain.ReadOnly);
        Assert.Null(plain.Init);
        Assert.Null(plain.StopTimeout);
        Assert.Null(plain.HealthCheck);
        Assert.Null(plain.LogDriver);
        Assert.True(plain.Dns.IsEmpty);
        Assert.Equal((0L, 0L), (plain.PidsLimit, plain.ShmSize));
        var given = Assert.IsType<RunContainer>(node.Requests[1]);
        Assert.Equal<string>(["NONE"], given.HealthCheck!.Test);
        // docker's --log-opt without --log-driver: options of the default driver.
        Assert.Equal(("json-file", "2m"), (given.LogDriver!.Name, given.LogDriver.Options["max-size"]));
        Assert.Equal(0, given.PidsLimit);
    }

    [Theory]
    [InlineData("/run", "/run", 0L, 0, false)]
    [InlineData("/run:size=64m,mode=1770,noexec,nosuid,nodev", "/run", 64L << 20, 0x3F8, false)]
    [InlineData("/data:ro,size=10k", "/data", 10L << 10, 0, true)]
    [InlineData("/data:rw,size=1g", "/data", 1L << 30, 0, false)]
    public void Tmpfs_Is_A_Tmpfs_Mount_With_Dockers_Options(string text, string target, long size, int mode, bool readOnly)
    {
        var (mount, error) = RunFlags.Tmpfs(text);

        Assert.Null(error);
        Assert.Equal(new MountSpec(MountType.Tmpfs, "", target, readOnly, size, mode), mount);
    }

    [Theory]
    [InlineData("80", new[] { "80/tcp" })]
    [InlineData("53/udp", new[] { "53/udp" })]
    [InlineData("7000-7002/TCP", new[] { "7000/tcp", "7001/tcp", "7002/tcp" })]
    public void Expose_Is_Each_Port_Of_A_Range_As_Dockers_Exposed_Ports(string text, string[] ports)
    {
        var (exposed, error) = RunFlags.Expose(text);

        Assert.Null(error);
        Assert.Equal(ports, exposed);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("70000")]
    [InlineData("90-80")]
    [InlineData("")]
    public void Expose_Refuses_What_Is_No_Port_Or_Range(string text) => Assert.NotNull(RunFlags.Expose(text).Error);

    [Theory]
    [InlineData("host")]
    [InlineData("none")]
    [InlineData("bridge")]
    public async Task Run_Sends_Dockers_Predefined_Networks_As_Named(string network)
    {
        var node = Answering();

        var (code, _, error) = await RunAsync(node, "run", "-d", "--network", network, "busybox", "ip", "addr");

        Assert.True(code == 0, error);
        Assert.Equal("", error);
        Assert.Equal(network, Assert.IsType<RunContainer>(Assert.Single(node.Requests)).Network);
    }

    [Fact]
    public async Task Run_On_The_Host_Network_Discards_Published_Ports_With_Dockers_Warning()
    {
        var node = Answering();

        var (code, output, error) = await RunAsync(node, "run", "-d", "--network", "host", "-p", "8080:80", "-P", "--hostname", "box", "busybox", "httpd", "-f");

        Assert.True(code == 0, error);
        Assert.Equal("c0ffee0123456789abcdefghi\n", output);
        Assert.Equal("WARNING: Published ports are discarded when using host network mode\n", error);
        var request = Assert.IsType<RunContainer>(Assert.Single(node.Requests));
        Assert.Empty(request.Publish);
        Assert.False(request.PublishAll);
        Assert.Equal(("host", "box"), (request.Network, request.Hostname));
    }

    [Fact]
    public async Task Run_Sends_Limits_Labels_Files_Hostname_And_Publish_All_As_Docker_Reads_Them()
    {
        var dir = Directory.CreateTempSubdirectory("psrunflags-");
        try
        {
            var labels = Path.Combine(dir.FullName, "labels");
            var env = Path.Combine(dir.FullName, "env");
            await File.WriteAllTextAsync(labels, "# team labels\nteam=a\ntier=web\nbare\n");
            await File.WriteAllTextAsync(env, "A=from-file\nB=from-file\n");
            var node = Answering();

            var (code, _, error) = await RunAsync(node, "run", "-d", "--cpus", "1.5", "-m", "64m", "--memory-reservation", "32m", "--label-file", labels,
                "-l", "tier=db", "--label", "owner=ops", "--env-file", env, "-e", "B=from-flag", "--hostname", "box1", "-P", "busybox");

            Assert.True(code == 0, error);
            var request = Assert.IsType<RunContainer>(Assert.Single(node.Requests));
            Assert.Equal((1_500_000_000L, 64L << 20, 32L << 20), (request.NanoCpus, request.MemoryBytes, request.MemoryReservationBytes));
            Assert.Equal(new Dictionary<string, string> { ["bare"] = "", ["owner"] = "ops", ["team"] = "a", ["tier"] = "db" }, request.Labels);
            Assert.Equal<string>(["A=from-file", "B=from-file", "B=from-flag"], request.Env);
            Assert.Equal("box1", request.Hostname);
            Assert.True(request.PublishAll);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("run", new[] { "run", "-it", "--rm", "busybox", "sh" })]
    [InlineData("run, flags apart", new[] { "run", "-i", "-t", "busybox", "sh" })]
    public async Task Run_It_Without_A_Terminal_On_Stdin_Says_Dockers_Words_And_Creates_Nothing(string form, string[] args)
    {
        Assert.NotEmpty(form);
        var node = Answering();
        var console = new ExecConsole(() => new MemoryStream(), () => new MemoryStream(), () => new MemoryStream(), () => false);

        var (code, _, error) = await RunWithConsoleAsync(node, [], console, args);

        Assert.Equal(1, code);
        Assert.Equal("the input device is not a TTY\n", error);
        Assert.Empty(node.Requests);
    }

    [Fact]
    public async Task Run_It_Types_On_The_Containers_Terminal_And_Ctrl_P_Ctrl_Q_Detaches_With_Exit_0_Leaving_It_Running()
    {
        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var node = new FakeNode(request => new ContainerCreated("c0ffee0123456789abcdefghi", "happy_turing", Tty: true))
        {
            // The node's side: the terminal's prompt, then the keys until the client's end (a detach: no exit frame).
            // The client does not wait for the prompt: it may have typed, detached and closed before the prompt goes, and
            // the write then fails (a broken pipe) while its keys still wait in the socket to be read.
            Streams = _ => Connected(server => System.Threading.Tasks.Task.Run(async () =>
            {
                using var input = new MemoryStream();
                var buffer = new byte[ExecFrames.MaxPayload];
                try
                {
                    await ExecFrames.WriteAsync(server, ExecFrameKind.Stdout, "/ # "u8.ToArray(), CancellationToken.None);
                }
                catch (IOException)
                {
                }

                try
                {
                    while (await ExecFrames.ReadAsync(server, buffer, CancellationToken.None) is var (kind, length))
                    {
                        if (kind == ExecFrameKind.Stdin)
                        {
                            input.Write(buffer, 0, length);
                        }
                    }
                }
                catch (IOException)
                {
                }

                received.TrySetResult(Encoding.ASCII.GetString(input.ToArray()));
            })),
        };
        using var stdout = new MemoryStream();
        // ^P alone is a key like any other; ^P ^Q detaches, and what follows is not sent.
        var keys = new MemoryStream("ls\r\u0010x\u0010\u0011exit\r"u8.ToArray());
        var console = new ExecConsole(() => keys, () => stdout, () => new MemoryStream(), () => true);

        var (code, _, error) = await RunWithConsoleAsync(node, [], console, "run", "-it", "--rm", "busybox", "sh");

        Assert.True(code == 0, error);
        var request = Assert.IsType<RunContainer>(Assert.Single(node.Requests));
        Assert.True(request.Interactive && request.Tty && request.Attach);
        Assert.Equal("ls\r\u0010x", await received.Task.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Start_Ai_Attaches_The_Terminal_And_Exits_With_The_Containers_Code()
    {
        var node = new FakeNode(request => new ContainerCreated("c0ffee0123456789abcdefghi", "shell", Tty: true))
        {
            Streams = _ => Connected(async server =>
            {
                await ExecFrames.WriteAsync(server, ExecFrameKind.Stdout, "bye\r\n"u8.ToArray(), CancellationToken.None);
                await ExecFrames.WriteAsync(server, ExecFrameKind.Exit, ExecFrames.Exit(7, false), CancellationToken.None);
            }),
        };
        using var stdout = new MemoryStream();
        var console = new ExecConsole(() => new MemoryStream(), () => stdout, () => new MemoryStream(), () => true);

        var (code, _, error) = await RunWithConsoleAsync(node, [], console, "start", "-ai", "shell");

        Assert.True(code == 7, error);
        var request = Assert.IsType<StartContainers>(Assert.Single(node.Requests));
        Assert.True(request.Attach && request.Interactive && request.InputIsTerminal);
        Assert.Equal("bye\r\n", Encoding.ASCII.GetString(stdout.ToArray()));
    }

    [Fact]
    public async Task Run_I_Sends_This_Commands_Stdin_To_The_Container_And_Closes_It_At_Its_End()
    {
        var received = new TaskCompletionSource<(byte[] Input, bool Closed)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var node = new FakeNode(request => new ContainerCreated("c0ffee0123456789abcdefghi", "happy_turing"))
        {
            // The node's side as StandaloneContainers serves it: input until CloseStdin, then what cat prints and its exit.
            Streams = _ => Connected(server => System.Threading.Tasks.Task.Run(async () =>
            {
                using var input = new MemoryStream();
                var buffer = new byte[ExecFrames.MaxPayload];
                var closed = false;
                while (!closed && await ExecFrames.ReadAsync(server, buffer, CancellationToken.None) is var (kind, length))
                {
                    closed = kind == ExecFrameKind.CloseStdin;
                    if (kind == ExecFrameKind.Stdin)
                    {
                        input.Write(buffer, 0, length);
                    }
                }

                received.TrySetResult((input.ToArray(), closed));
                await ExecFrames.WriteAsync(server, ExecFrameKind.Stdout, input.ToArray(), CancellationToken.None);
                await ExecFrames.WriteAsync(server, ExecFrameKind.Exit, ExecFrames.Exit(0, false), CancellationToken.None);
            })),
        };
        using var stdout = new MemoryStream();
        var console = new ExecConsole(() => new MemoryStream("hi\n"u8.ToArray()), () => stdout, () => new MemoryStream(), () => false);

        var (code, _, error) = await RunWithConsoleAsync(node, [], console, "run", "-i", "--rm", "busybox", "cat");

        Assert.True(code == 0, error);
        var request = Assert.IsType<RunContainer>(Assert.Single(node.Requests));
        Assert.True(request.Interactive && request.Attach && request.AutoRemove && !request.Tty);
        var (input, closed) = await received.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("hi\n", Encoding.UTF8.GetString(input));
        Assert.True(closed, "the end of stdin did not close the container's");
        Assert.Equal("hi\n", Encoding.UTF8.GetString(stdout.ToArray()));
    }

    [Fact]
    public async Task Run_Without_I_Sends_No_Input_And_Detached_I_Only_Keeps_Stdin_Open()
    {
        var node = Answering();

        Assert.Equal(0, (await RunAsync(node, "run", "-d", "-i", "busybox", "sh")).Code);
        Assert.Equal(0, (await RunAsync(node, "run", "-d", "-t", "busybox", "sh")).Code);

        var detached = Assert.IsType<RunContainer>(node.Requests[0]);
        Assert.True(detached.Interactive && !detached.Attach);
        Assert.False(Assert.IsType<RunContainer>(node.Requests[1]).Interactive);
    }

    /// <summary>A connected pair of unix sockets: the client's end returned, the node's given to <paramref name="serve"/>.</summary>
    private static NetworkStream Connected(Func<Stream, Task> serve)
    {
        var path = Path.Combine(Path.GetTempPath(), $"psrun-{Guid.NewGuid():N}.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        client.Connect(new UnixDomainSocketEndPoint(path));
        var server = new NetworkStream(listener.Accept(), ownsSocket: true);
        File.Delete(path);
        _ = serve(server).ContinueWith(_ => server.Dispose(), TaskScheduler.Default);
        return new NetworkStream(client, ownsSocket: true);
    }

    [Fact]
    public async Task Stop_Start_And_Rm_Print_Each_Container_As_Named_And_Docker_Errors_For_The_Rest()
    {
        var node = Answering();

        var stop = await RunAsync(node, "container", "stop", "-t", "2", "probe", "web.1.x");
        var rm = await RunAsync(node, "rm", "-f", "probe", "web.1.x");
        var start = await RunAsync(node, "start", "probe");
        var signalled = await RunAsync(node, "stop", "-s", "SIGINT", "probe");
        var numbered = await RunAsync(node, "container", "stop", "--signal", "2", "-t", "0", "probe");

        Assert.Equal((0, "probe\nweb.1.x\n"), (stop.Code, stop.Out));
        Assert.Equal((2, ""), (Assert.IsType<StopContainers>(node.Requests[0]).TimeoutSeconds, ((StopContainers)node.Requests[0]).Signal));
        Assert.Equal((0, 0), (signalled.Code, numbered.Code));
        Assert.Equal(("SIGINT", (int?)null), (Assert.IsType<StopContainers>(node.Requests[3]).Signal, ((StopContainers)node.Requests[3]).TimeoutSeconds));
        Assert.Equal(("2", (int?)0), (Assert.IsType<StopContainers>(node.Requests[4]).Signal, ((StopContainers)node.Requests[4]).TimeoutSeconds));
        Assert.True(Assert.IsType<RemoveContainers>(node.Requests[1]).Force);
        Assert.Equal((1, "probe\n"), (rm.Code, rm.Out));
        Assert.Contains("Error response from daemon: cannot remove container \"/web.1.x\"", rm.Err, StringComparison.Ordinal);
        Assert.Equal((0, "probe\n"), (start.Code, start.Out));
    }

    [Fact]
    public async Task Kill_Sends_The_Signal_As_Given_Kill_By_Default_And_Prints_Each_Name_Or_Dockers_Error()
    {
        var node = new FakeNode(request => request switch
        {
            KillContainers m => new ContainersChanged([.. m.Containers.Select(c => c == "ended"
                ? new ContainerChange(c, "cannot kill container: ended: container c0ffee01 is not running")
                : new ContainerChange(c, ""))]),
            _ => throw new InvalidOperationException($"unexpected {request.GetType().Name}"),
        });

        var plain = await RunAsync(node, "kill", "probe", "ended", "web.1.x");
        var hup = await RunAsync(node, "container", "kill", "-s", "HUP", "probe");
        var numbered = await RunAsync(node, "kill", "--signal", "15", "probe");
        var empty = await RunAsync(node, "kill", "-s", "", "probe");

        Assert.Equal((1, "probe\nweb.1.x\n"), (plain.Code, plain.Out));
        Assert.Equal("Error response from daemon: cannot kill container: ended: container c0ffee01 is not running\n", plain.Err);
        Assert.Equal((0, "probe\n"), (hup.Code, hup.Out));
        Assert.Equal(0, numbered.Code + empty.Code);
        var kills = node.Requests.OfType<KillContainers>().ToList();
        Assert.Equal<string>(["probe", "ended", "web.1.x"], kills[0].Containers);
        Assert.Equal<string>(["KILL", "HUP", "15", "KILL"], kills.Select(k => k.Signal));
    }

    [Fact]
    public async Task Restart_Sends_The_Grace_Period_And_Prints_Each_Container_As_Named()
    {
        var node = new FakeNode(request => request switch
        {
            RestartContainers m => new ContainersChanged([.. m.Containers.Select(c => c == "web.1.x"
                ? new ContainerChange(c, "cannot restart container web.1.x: it is a task's container")
                : new ContainerChange(c, ""))]),
            _ => throw new InvalidOperationException($"unexpected {request.GetType().Name}"),
        });

        var timed = await RunAsync(node, "restart", "-t", "3", "probe", "other");
        var plain = await RunAsync(node, "container", "restart", "probe", "web.1.x");
        var signalled = await RunAsync(node, "restart", "-s", "SIGTERM", "probe");

        Assert.Equal((0, "probe\nother\n", ""), timed);
        Assert.Equal((1, "probe\n"), (plain.Code, plain.Out));
        Assert.Contains("Error response from daemon: cannot restart container web.1.x: it is a task's container", plain.Err, StringComparison.Ordinal);
        var restarts = node.Requests.OfType<RestartContainers>().ToList();
        Assert.Equal(((int?)3, (int?)null), (restarts[0].TimeoutSeconds, restarts[1].TimeoutSeconds));
        Assert.Equal<string>(["probe", "other"], restarts[0].Containers);
        Assert.Equal(0, signalled.Code);
        Assert.Equal<string>(["", "", "SIGTERM"], restarts.Select(r => r.Signal));
    }

    [Fact]
    public async Task Restart_Volumes_Mounts_And_Published_Ports_Go_To_The_Node_As_Given()
    {
        var node = Answering();

        var (code, _, error) = await RunAsync(node, "run", "-d", "--restart", "on-failure:3", "-v", "data:/data", "-v", "/srv:/srv:ro", "--volume", "/anon",
            "--mount", "type=tmpfs,target=/scratch", "-p", "8080:80", "--publish", "53:53/udp", "busybox", "sleep", "1");

        Assert.True(code == 0, error);
        var request = Assert.IsType<RunContainer>(Assert.Single(node.Requests));
        Assert.Equal("on-failure:3", request.Restart);
        Assert.Equal<string>(["data:/data", "/srv:/srv:ro", "/anon"], request.Volumes);
        Assert.Equal((MountType.Tmpfs, "/scratch"), (Assert.Single(request.Mounts).Type, request.Mounts[0].Target));
        Assert.Equal<string>(["8080:80", "53:53/udp"], request.Publish);
        Assert.Equal<string>(["sleep", "1"], request.Command);
    }

    [Fact]
    public async Task Wait_Prints_The_Exit_Code()
    {
        var (code, output, _) = await RunAsync(Answering(), "container", "wait", "probe");

        Assert.Equal((0, "3\n"), (code, output));
    }

    [Theory]
    [InlineData("all", true, null)]
    [InlineData("20", true, 20)]
    [InlineData("-1", false, null)]
    [InlineData("x", false, null)]
    public void Tail_Is_A_Number_Of_Lines_Or_All(string text, bool valid, int? lines)
    {
        Assert.Equal(valid, RunRules.Tail(text, out var parsed));
        Assert.Equal(lines, parsed);
    }

    [Fact]
    public void A_Double_Dash_After_The_Image_Is_The_Commands_As_Dockers_Run_Takes_It()
    {
        Assert.Equal<string>(["run", "busybox", "--", "--", "ls"], RunCommand.SeparateCommand(["run", "busybox", "--", "ls"]));
    }

    [Fact]
    public void A_Command_Line_That_Is_Not_A_Run_Is_Left_As_It_Is()
    {
        string[] args = ["service", "create", "busybox", "ls", "-l"];

        Assert.Same(args, RunCommand.SeparateCommand(args));
    }

    [Theory]
    [InlineData("failed to create task for container: exec: \"nosuch\": executable file not found in $PATH", 127)]
    [InlineData("failed to create task for container: exec: \"/bin/nosuch\": no such file or directory", 127)]
    [InlineData("failed to create task for container: exec: \"/etc/passwd\": permission denied", 126)]
    [InlineData("failed to create task for container: exec: \"/etc\": is a directory", 126)]
    [InlineData("No such image: nosuch:1", 125)]
    [InlineData("Conflict. The container name \"/web\" is already in use by container \"abc\".", 125)]
    public void Run_Exits_As_Dockers_Cli_Decides_From_The_Daemons_Words(string error, int exitCode)
    {
        Assert.Equal(exitCode, RunRules.ExitCode(error));
    }

    [Theory]
    [InlineData("detached", new[] { "run", "-d", "busybox", "nosuch" })]
    [InlineData("attached", new[] { "run", "busybox", "nosuch" })]
    public async Task A_Run_Whose_Start_Failed_Prints_The_Daemons_Words_And_Exits_127_When_The_Command_Is_Not_Found(string form, string[] args)
    {
        Assert.NotEmpty(form);
        const string Error = "failed to create task for container: exec: \"nosuch\": executable file not found in $PATH";
        var node = new FakeNode(_ => new CommandRejected(RejectCode.InvalidArgument, Error)) { Streams = _ => new MemoryStream() };

        var (code, output, error) = await RunAsync(node, args);

        Assert.Equal((127, "", $"protoswarm: Error response from daemon: {Error}\n"), (code, output, error));
    }

    [Fact]
    public async Task A_Failed_Start_Prints_Each_Error_Then_Dockers_Line_Naming_The_Containers_It_Could_Not_Start()
    {
        var node = new FakeNode(request => request is StartContainers m
            ? new ContainersChanged([.. m.Containers.Select(c => new ContainerChange(c, c == "ok" ? "" : "failed to create task for container: exec: \"x\": executable file not found in $PATH"))])
            : throw new InvalidOperationException());
        var attachNode = new FakeNode(_ => new CommandRejected(RejectCode.Conflict, "failed to create task for container: exec: \"x\": permission denied")) { Streams = _ => new MemoryStream() };

        var (code, output, error) = await RunAsync(node, "start", "bad", "ok", "worse");
        var (attachCode, _, attachError) = await RunAsync(attachNode, "start", "-a", "bad");

        Assert.Equal((1, "ok\n"), (code, output));
        Assert.Equal(
            "Error response from daemon: failed to create task for container: exec: \"x\": executable file not found in $PATH\n" +
            "Error response from daemon: failed to create task for container: exec: \"x\": executable file not found in $PATH\n" +
            "Error: failed to start containers: bad, worse\n", error);
        Assert.Equal((1, "Error response from daemon: failed to create task for container: exec: \"x\": permission denied\nError: failed to start containers: bad\n"),
            (attachCode, attachError));
    }
}
