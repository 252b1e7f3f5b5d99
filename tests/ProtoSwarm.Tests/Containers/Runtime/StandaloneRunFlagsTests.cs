using System.Collections.Immutable;
using Microsoft.Extensions.Logging.Abstractions;
using ProtoSwarm.Containers.Runtime;
using ProtoSwarm.Containers.Volumes;
using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Runtime;
using HealthCheck = ProtoSwarm.Contracts.HealthCheck;

namespace ProtoSwarm.Tests.Containers.Runtime;

// docker run's start of an ended container, --restart and -v on the node host's standalone containers, with real busybox
// containers, as root: the same container again with what it wrote, the policy's restarts, a volume that outlives its container.
[Collection(ContainerCollection.Name)]
[Trait("Category", "Privileged")]
public sealed class StandaloneRunFlagsTests(ContainerFixture fixture) : BusyboxExecutorTests(fixture, "protoswarm-runflags-", "busybox:runflags")
{
    private StandaloneContainers Standalone() =>
        new(Executor, Path.Combine(Dir, "standalone"), () => "node", () => null, NullLoggerFactory.Instance);

    private static RunContainer Run(string name, params string[] command) =>
        new(SwarmIds.NewRequestId(), "busybox:runflags", [.. command], null, [], "", "", name, false, false, "");

    private static async Task<string> RunAsync(StandaloneContainers standalone, RunContainer run)
    {
        var answer = await standalone.HandleAsync(run, default);
        return Assert.IsType<ContainerCreated>(answer).Id;
    }

    private static async Task<int> WaitAsync(StandaloneContainers standalone, string id) =>
        Assert.IsType<ContainerExited>(await standalone.HandleAsync(new WaitContainer("w", id), default).WaitAsync(TimeSpan.FromSeconds(20))).ExitCode;

    private string Printed(string id) => ContainerFixture.Printed(LinuxContainer.ReadLogs(id, Fixture.Options), ContainerLogStream.Stdout);

    private async Task<ContainerObject> PsAsync(StandaloneContainers standalone, string id) =>
        Assert.IsType<ContainerList>(await LocalContainers.HandleAsync(Executor, new ListContainers("ps", All: true), TimeProvider.System, _ => null, default,
            standalone.NameOf, standalone.RestartOf, standaloneSettings: standalone.SettingsOf)).Containers.Single(c => c.Id == id);

    /// <summary>Runs <paramref name="run"/> to its end and gives its exit code and what it printed; the container is removed.</summary>
    private async Task<(int Exit, string Printed)> RunToEndAsync(StandaloneContainers standalone, RunContainer run)
    {
        var id = await RunAsync(standalone, run);
        try
        {
            return (await WaitAsync(standalone, id), Printed(id));
        }
        finally
        {
            await RemoveAsync(standalone, id);
        }
    }

    [Fact]
    public async Task Cap_Add_Net_Admin_Lets_The_Container_Change_Its_Network_And_Without_It_That_Is_Refused()
    {
        using var standalone = Standalone();
        const string Change = "ip addr add 10.9.9.9/32 dev lo 2>&1 && echo changed";

        var (granted, grantedPrinted) = await RunToEndAsync(standalone, Run("netadmin", "sh", "-c", Change) with { CapAdd = ["CAP_NET_ADMIN"] });
        var (plain, plainPrinted) = await RunToEndAsync(standalone, Run("plain", "sh", "-c", Change));
        var (dropped, droppedPrinted) = await RunToEndAsync(standalone, Run("dropped", "sh", "-c", "chown 1 /tmp 2>&1 && echo chowned") with { CapDrop = ["CAP_CHOWN"] });

        Assert.Equal((0, "changed\n"), (granted, grantedPrinted));
        Assert.NotEqual(0, plain);
        Assert.Contains("not permitted", plainPrinted, StringComparison.OrdinalIgnoreCase);
        Assert.NotEqual(0, dropped);
        Assert.DoesNotContain("chowned", droppedPrinted, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_Only_Refuses_Writes_To_The_Root_While_Its_Tmpfs_Mounts_And_Dev_Shm_Of_Shm_Size_Take_Them()
    {
        using var standalone = Standalone();

        var (exit, printed) = await RunToEndAsync(standalone, Run("readonly", "sh", "-c",
            "touch /x 2>/dev/null && echo root-written || echo root-refused; touch /scratch/y && echo tmpfs-written; "
            + "grep -E ' /(scratch|dev/shm) ' /proc/mounts | cut -d' ' -f2,4")
            with { ReadOnly = true, Tmpfs = ["/scratch:size=1m,mode=1777"], ShmSize = 8L << 20 });

        Assert.Equal(0, exit);
        var lines = printed.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["root-refused", "tmpfs-written"], lines[..2]);
        Assert.Contains(lines, l => l.StartsWith("/scratch ", StringComparison.Ordinal) && l.Contains("size=1024k", StringComparison.Ordinal));
        // The --shm-size tmpfs is the last mount on /dev/shm, over the default 64 MiB one.
        Assert.Contains("size=8192k", lines.Last(l => l.StartsWith("/dev/shm ", StringComparison.Ordinal)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Init_Is_Pid_1_And_The_Command_Is_Its_Child_Add_Host_Ulimit_And_Pids_Limit_Reach_The_Container()
    {
        using var standalone = Standalone();

        var (initExit, init) = await RunToEndAsync(standalone, Run("withinit", "sh", "-c", "echo $$; cat /proc/1/comm; true") with { Init = true });
        var (_, noInit) = await RunToEndAsync(standalone, Run("noinit", "sh", "-c", "echo $$; cat /proc/1/comm; true"));
        var (confinedExit, confined) = await RunToEndAsync(standalone, Run("confined", "sh", "-c",
            "grep -w db /etc/hosts; ulimit -n; ulimit -Hn; cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max")
            with { Hosts = ["10.1.2.3 db"], Ulimits = [new Ulimit("nofile", 256, 512)], PidsLimit = 7 });

        Assert.Equal(0, initExit);
        var initLines = init.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEqual("1", initLines[0]);
        Assert.Equal("protoswarm-init", initLines[1]);
        Assert.Equal("1\nsh\n", noInit);
        Assert.Equal(0, confinedExit);
        var confinedLines = confined.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^10\.1\.2\.3\s+db$", confinedLines[0]);
        Assert.Equal(["256", "512", "7"], confinedLines[1..]);
    }

    [Fact]
    public async Task A_Health_Cmd_Makes_The_Container_Healthy_In_Ps_And_Inspect_And_A_Failing_One_Unhealthy_Without_A_Restart()
    {
        using var standalone = Standalone();
        // Its probes fail until /tmp/ok exists, 3 s in; inside its start period they do not count (docker's), so it is
        // "starting" until its first success, however late the ps below comes under load.
        var healthy = await RunAsync(standalone, Run("healthy", "sh", "-c", "sleep 3; touch /tmp/ok; sleep 1000")
            with { HealthCheck = new HealthCheck(["CMD-SHELL", "test -f /tmp/ok"], TimeSpan.FromMilliseconds(200), Retries: 1, StartPeriod: TimeSpan.FromSeconds(10)) });
        var starting = await PsAsync(standalone, healthy);
        var sick = await RunAsync(standalone, Run("sick", "sleep", "1000")
            with { Restart = "always", HealthCheck = new HealthCheck(["CMD-SHELL", "echo not ready; exit 1"], TimeSpan.FromMilliseconds(200), Retries: 2) });
        try
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            ContainerObject ps, sickPs;
            while (((ps = await PsAsync(standalone, healthy)).Health, (sickPs = await PsAsync(standalone, sick)).Health) is not ("healthy", "unhealthy"))
            {
                Assert.True(DateTime.UtcNow < deadline, $"{ps.Health} and {sickPs.Health} after 20 s");
                await Task.Delay(100);
            }

            var inspected = ProtoSwarm.Cli.Output.ContainerView.Inspect(ps);

            Assert.Equal("starting", starting.Health);
            Assert.EndsWith("(health: starting)", ProtoSwarm.Cli.Output.ContainerView.StatusText(starting, DateTimeOffset.UtcNow), StringComparison.Ordinal);
            Assert.EndsWith("(healthy)", ProtoSwarm.Cli.Output.ContainerView.StatusText(ps, DateTimeOffset.UtcNow), StringComparison.Ordinal);
            Assert.Equal("healthy", (string?)inspected["State"]!["Health"]!["Status"]);
            Assert.Equal("[\"CMD-SHELL\",\"test -f /tmp/ok\"]", inspected["Config"]!["Healthcheck"]!["Test"]!.ToJsonString());
            Assert.Equal(200_000_000, (long)inspected["Config"]!["Healthcheck"]!["Interval"]!);
            // docker's: an unhealthy standalone container goes on running, its restart policy untouched.
            Assert.Equal(("running", 0), (sickPs.State, sickPs.RestartCount));
            Assert.EndsWith("(unhealthy)", ProtoSwarm.Cli.Output.ContainerView.StatusText(sickPs, DateTimeOffset.UtcNow), StringComparison.Ordinal);
            // The node's probes reach inspect: docker's FailingStreak and its last five probes, oldest first.
            var sickHealth = ProtoSwarm.Cli.Output.ContainerView.Inspect(sickPs)["State"]!["Health"]!;
            Assert.True((int)sickHealth["FailingStreak"]! >= 2, sickHealth.ToJsonString());
            Assert.InRange(sickPs.HealthLog.Length, 2, 5);
            Assert.All(sickPs.HealthLog, p => Assert.Equal((1, "not ready\n"), (p.ExitCode, p.Output)));
            Assert.All(sickPs.HealthLog, p => Assert.True(p.End >= p.Start));
            Assert.Equal((1, "not ready\n"), ((int)sickHealth["Log"]!.AsArray()[^1]!["ExitCode"]!, (string?)sickHealth["Log"]!.AsArray()[^1]!["Output"]));
            Assert.Equal((0, 0), ((int)inspected["State"]!["Health"]!["FailingStreak"]!, ps.HealthLog[^1].ExitCode));
        }
        finally
        {
            await RemoveAsync(standalone, healthy);
            await RemoveAsync(standalone, sick);
        }
    }

    [Fact]
    public async Task Inspect_Shows_The_Run_Flags_Where_Docker_Does_And_They_Outlive_Stop_Start_And_A_Node_Host_Restart()
    {
        var run = Run("inspected", "sleep", "1000") with
        {
            CapAdd = ["CAP_NET_ADMIN"], CapDrop = ["CAP_MKNOD"], ReadOnly = true, Init = true, StopSignal = "SIGINT", StopTimeout = 2,
            Hosts = ["10.1.2.3 db"], Dns = new DnsConfig(["10.0.0.53"], ["corp.example"], ["ndots:2"]), Sysctls = NamespacedSysctls.None.Add("net.core.somaxconn", "1024"),
            Ulimits = [new Ulimit("nofile", 256, 512)], PidsLimit = 50, GroupAdd = ["2000"], Tmpfs = ["/scratch:size=1m"], ShmSize = 8L << 20,
            LogDriver = new LogDriver("json-file", ImmutableSortedDictionary<string, string>.Empty.Add("max-size", "1m")), Expose = ["8080", "53/udp"],
        };
        string id;
        System.Text.Json.Nodes.JsonNode first, again, restored;
        using (var standalone = Standalone())
        {
            id = await RunAsync(standalone, run);
            first = ProtoSwarm.Cli.Output.ContainerView.Inspect(await PsAsync(standalone, id));
            Assert.Equal("", Assert.Single(Assert.IsType<ContainersChanged>(await standalone.HandleAsync(new StopContainers("st", [id], null), default)).Results).Error);
            Assert.Equal("", Assert.Single(Assert.IsType<ContainersChanged>(await standalone.HandleAsync(new StartContainers("s", [id]), default)).Results).Error);
            again = ProtoSwarm.Cli.Output.ContainerView.Inspect(await PsAsync(standalone, id));
        }

        // A node host that starts again finds it from its files.
        using (var standalone = Standalone())
        {
            await standalone.RestoreAsync(default);
            restored = ProtoSwarm.Cli.Output.ContainerView.Inspect(await PsAsync(standalone, id));
            await RemoveAsync(standalone, id);
        }

        foreach (var inspected in new[] { first, again, restored })
        {
            var host = inspected["HostConfig"]!;
            Assert.Equal("[\"CAP_NET_ADMIN\"]", host["CapAdd"]!.ToJsonString());
            Assert.Equal("[\"CAP_MKNOD\"]", host["CapDrop"]!.ToJsonString());
            Assert.True((bool)host["ReadonlyRootfs"]!);
            Assert.True((bool)host["Init"]!);
            Assert.Equal(("[\"10.0.0.53\"]", "[\"ndots:2\"]", "[\"corp.example\"]"), (host["Dns"]!.ToJsonString(), host["DnsOptions"]!.ToJsonString(), host["DnsSearch"]!.ToJsonString()));
            Assert.Equal("[\"db:10.1.2.3\"]", host["ExtraHosts"]!.ToJsonString());
            Assert.Equal("{\"net.core.somaxconn\":\"1024\"}", host["Sysctls"]!.ToJsonString());
            Assert.Equal("[{\"Name\":\"nofile\",\"Hard\":512,\"Soft\":256}]", host["Ulimits"]!.ToJsonString());
            Assert.Equal(50, (long)host["PidsLimit"]!);
            Assert.Equal("[\"2000\"]", host["GroupAdd"]!.ToJsonString());
            Assert.Equal("{\"/scratch\":\"size=1m\"}", host["Tmpfs"]!.ToJsonString());
            Assert.Equal(8L << 20, (long)host["ShmSize"]!);
            Assert.Equal("{\"Type\":\"json-file\",\"Config\":{\"max-size\":\"1m\"}}", host["LogConfig"]!.ToJsonString());
            var config = inspected["Config"]!;
            Assert.Equal(("SIGINT", 2), ((string?)config["StopSignal"], (int)config["StopTimeout"]!));
            Assert.Equal("{\"53/udp\":{},\"8080/tcp\":{}}", config["ExposedPorts"]!.ToJsonString());
            // docker lists no --tmpfs or --shm-size mount among the container's Mounts.
            Assert.Equal("[]", inspected["Mounts"]!.ToJsonString());
        }
    }

    private static async Task RemoveAsync(StandaloneContainers standalone, string id, bool volumes = false) =>
        Assert.Equal("", Assert.Single(Assert.IsType<ContainersChanged>(await standalone.HandleAsync(new RemoveContainers("rm", [id], true, volumes), default)).Results).Error);

    [Fact]
    public async Task Start_Of_An_Ended_Container_Runs_The_Same_Container_Again_With_What_It_Wrote()
    {
        using var standalone = Standalone();
        var id = await RunAsync(standalone, Run("again", "sh", "-c", "if [ -f /kept ]; then echo found; else echo first > /kept; echo made; fi; exit 2"));
        try
        {
            Assert.Equal(2, await WaitAsync(standalone, id));
            var ended = await PsAsync(standalone, id);

            var started = Assert.IsType<ContainersChanged>(await standalone.HandleAsync(new StartContainers("s", ["again"]), default));
            var running = await PsAsync(standalone, id);
            Assert.Equal(2, await WaitAsync(standalone, id));

            Assert.Equal(("exited", 2), (ended.State, ended.ExitCode));
            Assert.Equal("", Assert.Single(started.Results).Error);
            Assert.True(running.State is "running" or "exited", running.State);
            Assert.Equal(("again", ended.Created), (running.Name, running.Created));
            Assert.Equal("made\nfound\n", Printed(id));
        }
        finally
        {
            await RemoveAsync(standalone, id);
        }
    }

    [Fact]
    public async Task A_Container_Started_Again_Tells_Start_And_Die_Again_Not_Create()
    {
        // docker's events for `start` of an exited container: start, then die when it ends; its create was told once.
        var told = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var died = new System.Collections.Concurrent.ConcurrentQueue<System.Collections.Immutable.ImmutableSortedDictionary<string, string>>();
        using var standalone = Standalone();
        Executor.ContainerChanged = (task, action, attributes) =>
        {
            if (task.ServiceName == "evented")
            {
                told.Enqueue(action);
                if (action == "die")
                {
                    died.Enqueue(attributes);
                }
            }
        };
        var id = await RunAsync(standalone, Run("evented", "sh", "-c", "exit 2"));
        try
        {
            Assert.Equal(2, await WaitAsync(standalone, id));
            Assert.Equal("", Assert.Single(Assert.IsType<ContainersChanged>(await standalone.HandleAsync(new StartContainers("s", ["evented"]), default)).Results).Error);
            Assert.Equal(2, await WaitAsync(standalone, id));
            for (var i = 0; i < 100 && told.Count < 5; i++)
            {
                await Task.Delay(50);
            }

            Assert.Equal(["create", "start", "die", "start", "die"], told.ToArray());

            // docker's die attributes: the exit code and the whole seconds it ran (this one ends at once).
            Assert.All(died, attributes =>
            {
                Assert.Equal(["execDuration", "exitCode"], attributes.Keys);
                Assert.Equal("2", attributes["exitCode"]);
                Assert.InRange(long.Parse(attributes["execDuration"], System.Globalization.CultureInfo.InvariantCulture), 0, 30);
            });
        }
        finally
        {
            Executor.ContainerChanged = null;
            await RemoveAsync(standalone, id);
        }
    }

    [Fact]
    public async Task Start_Attached_Streams_Only_This_Runs_Output_And_Its_Exit_Code()
    {
        using var standalone = Standalone();
        var id = await RunAsync(standalone, Run("attached", "sh", "-c", "if [ -f /kept ]; then echo found; else touch /kept; echo made; fi; exit 4"));
        try
        {
            Assert.Equal(4, await WaitAsync(standalone, id));
            using var connection = new MemoryStream();

            await standalone.StreamAsync(new StartContainers("s", ["attached"], Attach: true), connection, default).WaitAsync(TimeSpan.FromSeconds(20));

            connection.Position = 0;
            Assert.Equal(id, Assert.IsType<ContainerCreated>(await ProtoSwarm.Client.Control.ControlFraming.ReadAsync(connection, default)).Id);
            var buffer = new byte[ProtoSwarm.Client.Control.ExecFrames.MaxPayload];
            var printed = new System.Text.StringBuilder();
            int? exit = null;
            while (await ProtoSwarm.Client.Control.ExecFrames.ReadAsync(connection, buffer, default) is var (kind, length))
            {
                if (kind == ProtoSwarm.Client.Control.ExecFrameKind.Exit)
                {
                    exit = ProtoSwarm.Client.Control.ExecFrames.ReadExit(buffer.AsSpan(0, length)).ExitCode;
                    break;
                }

                printed.Append(System.Text.Encoding.UTF8.GetString(buffer, 0, length));
            }

            Assert.Equal(("found\n", 4), (printed.ToString(), exit));
        }
        finally
        {
            await RemoveAsync(standalone, id);
        }
    }

    [Fact]
    public async Task Run_It_Attaches_The_Terminal_Its_First_Prompt_Keys_Size_And_Exit_Code_And_Logs_Keep_What_It_Printed()
    {
        using var standalone = Standalone();
        var (client, server) = SocketPair();
        var run = Run("shell", "sh") with { Tty = true, Interactive = true, Attach = true, Env = ["PS1=$ "] };
        var serving = standalone.StreamAsync(run, server, default);
        string? id = null;
        try
        {
            var created = Assert.IsType<ContainerCreated>(await ProtoSwarm.Client.Control.ControlFraming.ReadAsync(client, default).WaitAsync(TimeSpan.FromSeconds(20)));
            id = created.Id;
            var screen = new System.Text.StringBuilder();
            var exit = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            _ = Task.Run(async () =>
            {
                var buffer = new byte[ProtoSwarm.Client.Control.ExecFrames.MaxPayload];
                while (await ProtoSwarm.Client.Control.ExecFrames.ReadAsync(client, buffer, default) is var (kind, length))
                {
                    if (kind == ProtoSwarm.Client.Control.ExecFrameKind.Exit)
                    {
                        exit.TrySetResult(ProtoSwarm.Client.Control.ExecFrames.ReadExit(buffer.AsSpan(0, length)).ExitCode);
                        return;
                    }

                    lock (screen)
                    {
                        screen.Append(System.Text.Encoding.UTF8.GetString(buffer, 0, length));
                    }
                }

                exit.TrySetResult(-1);
            });
            async Task<bool> ShowsAsync(string text)
            {
                for (var i = 0; i < 200; i++)
                {
                    lock (screen)
                    {
                        if (screen.ToString().Contains(text, StringComparison.Ordinal))
                        {
                            return true;
                        }
                    }

                    await Task.Delay(50);
                }

                return false;
            }

            Task Send(ProtoSwarm.Client.Control.ExecFrameKind kind, byte[] payload) => ProtoSwarm.Client.Control.ExecFrames.WriteAsync(client, kind, payload, default);

            // The first prompt came before the attach, and has no newline: the terminal's own bytes, not its log's lines.
            Assert.True(await ShowsAsync("$ "), screen.ToString());
            await Send(ProtoSwarm.Client.Control.ExecFrameKind.Resize, ProtoSwarm.Client.Control.ExecFrames.Resize(33, 77));
            await Send(ProtoSwarm.Client.Control.ExecFrameKind.Stdin, "stty size; tty; echo $((6*7))\r"u8.ToArray());
            Assert.True(await ShowsAsync("33 77"), screen.ToString());
            Assert.True(await ShowsAsync("/dev/pts/"), screen.ToString());
            Assert.True(await ShowsAsync("42\r\n"), screen.ToString());
            await Send(ProtoSwarm.Client.Control.ExecFrameKind.Stdin, "exit 5\r"u8.ToArray());

            Assert.Equal(5, await exit.Task.WaitAsync(TimeSpan.FromSeconds(20)));
            await serving.WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Contains("42\r\n", Printed(id), StringComparison.Ordinal);
        }
        finally
        {
            client.Dispose();
            server.Dispose();
            if (id is not null)
            {
                await RemoveAsync(standalone, id);
            }
        }
    }

    private static (System.Net.Sockets.NetworkStream Client, System.Net.Sockets.NetworkStream Server) SocketPair()
    {
        var path = Path.Combine(Path.GetTempPath(), $"psrunit-{Guid.NewGuid():N}.sock");
        using var listener = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        listener.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        var client = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        client.Connect(new System.Net.Sockets.UnixDomainSocketEndPoint(path));
        var server = new System.Net.Sockets.NetworkStream(listener.Accept(), ownsSocket: true);
        File.Delete(path);
        return (new System.Net.Sockets.NetworkStream(client, ownsSocket: true), server);
    }

    [Fact]
    public async Task On_Failure_Restarts_Its_Count_Of_Times_Then_The_Container_Stays_Exited()
    {
        using var standalone = Standalone();
        var id = await RunAsync(standalone, Run("flaky", "sh", "-c", "echo run; exit 3") with { Restart = "on-failure:2" });
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(20);
            ContainerObject ps;
            while ((ps = await PsAsync(standalone, id)) is not { State: "exited", RestartCount: 2 })
            {
                Assert.True(DateTime.UtcNow < deadline, $"{ps.State} after {ps.RestartCount} restarts");
                await Task.Delay(50);
            }

            await Task.Delay(500);
            ps = await PsAsync(standalone, id);
            Assert.Equal(("exited", 3, 2, "on-failure", 2), (ps.State, ps.ExitCode, ps.RestartCount, ps.RestartPolicy, ps.MaximumRetryCount));
            Assert.Equal("run\nrun\nrun\n", Printed(id));
        }
        finally
        {
            await RemoveAsync(standalone, id);
        }
    }

    [Fact]
    public async Task Stop_Ends_The_Restarting_Of_An_Always_Container()
    {
        using var standalone = Standalone();
        var id = await RunAsync(standalone, Run("steady", "sleep", "1000") with { Restart = "always" });
        try
        {
            var stopped = Assert.IsType<ContainersChanged>(await standalone.HandleAsync(new StopContainers("st", [id], 0), default));
            await Task.Delay(600);
            var ps = await PsAsync(standalone, id);

            Assert.Equal("", Assert.Single(stopped.Results).Error);
            Assert.Equal(("exited", 0), (ps.State, ps.RestartCount));
        }
        finally
        {
            await RemoveAsync(standalone, id);
        }
    }

    [Fact]
    public async Task Kill_Sends_The_Signal_Of_Choice_And_Kill_Ends_It_Without_Its_Restart_Policy()
    {
        using var standalone = Standalone();
        var id = await RunAsync(standalone, Run("trapper", "sh", "-c", "trap 'echo hup' HUP; echo ready; while true; do sleep 0.1; done") with { Restart = "always" });
        try
        {
            await WaitForAsync(() => Printed(id).Contains("ready", StringComparison.Ordinal));
            var hup = Assert.IsType<ContainersChanged>(await standalone.HandleAsync(new KillContainers("k1", ["trapper"], "SIGHUP"), default));
            await WaitForAsync(() => Printed(id).Contains("hup", StringComparison.Ordinal));
            var stillUp = await PsAsync(standalone, id);
            var bad = Assert.IsType<ContainersChanged>(await standalone.HandleAsync(new KillContainers("k2", ["trapper"], "FOO"), default));

            var killed = Assert.IsType<ContainersChanged>(await standalone.HandleAsync(new KillContainers("k3", ["trapper"]), default));
            Assert.Equal(137, await WaitAsync(standalone, id));
            await Task.Delay(600);
            var ps = await PsAsync(standalone, id);
            var again = Assert.IsType<ContainersChanged>(await standalone.HandleAsync(new KillContainers("k4", ["trapper", "nosuch"]), default));

            Assert.Equal("", Assert.Single(hup.Results).Error);
            Assert.Equal("running", stillUp.State);
            Assert.StartsWith("invalid signal: FOO", Assert.Single(bad.Results).Error, StringComparison.Ordinal);
            Assert.Equal("", Assert.Single(killed.Results).Error);
            Assert.Equal(("exited", 137, 0), (ps.State, ps.ExitCode, ps.RestartCount));
            Assert.Equal($"cannot kill container: trapper: container {id} is not running", again.Results[0].Error);
            Assert.Equal("No such container: nosuch", again.Results[1].Error);
        }
        finally
        {
            await RemoveAsync(standalone, id);
        }
    }

    [Fact]
    public async Task Stop_And_Restart_Send_The_Signal_Given_By_S_First_And_The_Stop_Signal_Without_It()
    {
        // Its exit code says which signal came: 12 for INT, 13 for TERM (its stop signal), 14 for HUP; it ignores USR2.
        using var standalone = Standalone();
        var id = await RunAsync(standalone, Run("signalled", "sh", "-c",
            "trap 'echo got-int; exit 12' INT; trap 'echo got-term; exit 13' TERM; trap 'echo got-hup; exit 14' HUP; trap '' USR2; echo ready; while true; do sleep 0.1; done"));
        try
        {
            await WaitForAsync(() => Printed(id) == "ready\n");
            var stopped = Assert.IsType<ContainersChanged>(await standalone.HandleAsync(new StopContainers("s1", ["signalled"], 10, "SIGINT"), default));
            var interrupted = await WaitAsync(standalone, id);

            // An ended one just starts; a running one gets the signal, then starts again.
            var started = Assert.IsType<ContainersChanged>(await standalone.HandleAsync(new RestartContainers("r0", ["signalled"], 10, "1"), default));
            await WaitForAsync(() => Printed(id) == "ready\ngot-int\nready\n");
            var restarted = Assert.IsType<ContainersChanged>(await standalone.HandleAsync(new RestartContainers("r1", ["signalled"], 10, "1"), default));
            await WaitForAsync(() => Printed(id) == "ready\ngot-int\nready\ngot-hup\nready\n");
            var restartedRunning = (await PsAsync(standalone, id)).State;
            var bad = Assert.IsType<ContainersChanged>(await standalone.HandleAsync(new StopContainers("s2", ["signalled"], 10, "SIGFOO"), default));
            var stillRunning = (await PsAsync(standalone, id)).State;
            var restartedAgain = Assert.IsType<ContainersChanged>(await standalone.HandleAsync(new RestartContainers("r2", ["signalled"], 10), default));
            await WaitForAsync(() => Printed(id) == "ready\ngot-int\nready\ngot-hup\nready\ngot-term\nready\n");
            var plain = Assert.IsType<ContainersChanged>(await standalone.HandleAsync(new StopContainers("s3", ["signalled"], 10), default));
            var terminated = await WaitAsync(standalone, id);

            // A signal it ignores: SIGKILL after -t, as docker's.
            Assert.Equal("", Assert.Single(Assert.IsType<ContainersChanged>(await standalone.HandleAsync(new StartContainers("s", ["signalled"]), default)).Results).Error);
            await WaitForAsync(() => Printed(id).EndsWith("got-term\nready\n", StringComparison.Ordinal));
            Assert.Equal("", Assert.Single(Assert.IsType<ContainersChanged>(await standalone.HandleAsync(new StopContainers("s4", ["signalled"], 1, "USR2"), default)).Results).Error);
            var killed = await WaitAsync(standalone, id);

            Assert.Equal("", Assert.Single(stopped.Results).Error);
            Assert.Equal(12, interrupted);
            Assert.Equal<string>(["", ""], [Assert.Single(started.Results).Error, Assert.Single(restarted.Results).Error]);
            Assert.Equal(("running", "running"), (restartedRunning, stillRunning));
            Assert.StartsWith("invalid signal: SIGFOO", Assert.Single(bad.Results).Error, StringComparison.Ordinal);
            Assert.Equal("", Assert.Single(restartedAgain.Results).Error);
            Assert.Equal("", Assert.Single(plain.Results).Error);
            Assert.Equal((13, 137), (terminated, killed));
            Assert.Equal("ready\ngot-int\nready\ngot-hup\nready\ngot-term\nready\ngot-term\nready\n", Printed(id));
        }
        finally
        {
            await RemoveAsync(standalone, id);
        }
    }

    [Fact]
    public async Task Restart_Stops_And_Starts_The_Same_Container_Keeping_An_Rm_One_And_Starts_A_Created_One()
    {
        using var standalone = Standalone();
        var id = await RunAsync(standalone, Run("bouncer", "sh", "-c", "echo run; exec sleep 1000") with { AutoRemove = true });
        var created = await RunAsync(standalone, Run("fresh", "sh", "-c", "echo fresh; exec sleep 1000") with { Start = false });
        try
        {
            await WaitForAsync(() => Printed(id) == "run\n");
            var before = await PsAsync(standalone, id);

            var restarted = Assert.IsType<ContainersChanged>(await standalone.HandleAsync(new RestartContainers("r", ["bouncer", "fresh"], 0), default));
            await WaitForAsync(() => Printed(id) == "run\nrun\n" && Printed(created) == "fresh\n");
            var after = await PsAsync(standalone, id);
            var fresh = await PsAsync(standalone, created);

            Assert.Equal<string>(["", ""], restarted.Results.Select(r => r.Error));
            Assert.Equal(("running", "running", before.Created), (after.State, fresh.State, after.Created));
            Assert.NotEqual(before.StartedAt, after.StartedAt);
        }
        finally
        {
            await RemoveAsync(standalone, id);
            await RemoveAsync(standalone, created);
        }
    }

    [Fact]
    public async Task Prune_Removes_Only_Ended_Standalone_Containers_And_Adds_Up_Their_Writable_Layers()
    {
        using var standalone = Standalone();
        var ended = await RunAsync(standalone, Run("ended", "sh", "-c", "head -c 5000 /dev/zero > /blob"));
        var alive = await RunAsync(standalone, Run("alive", "sleep", "1000"));
        try
        {
            Assert.Equal(0, await WaitAsync(standalone, ended));

            var pruned = Assert.IsType<ContainersPruned>(await standalone.HandleAsync(new PruneContainers("p", [ended, alive, "nosuch"]), default));
            var left = Assert.IsType<ContainerList>(await LocalContainers.HandleAsync(Executor, new ListContainers("ps", All: true), TimeProvider.System, _ => null, default,
                standalone.NameOf, standalone.RestartOf)).Containers.Select(c => c.Id).ToList();

            Assert.Equal<string>([ended], pruned.Deleted);
            Assert.InRange(pruned.SpaceReclaimed, 5000, 5000 + 64 * 1024);
            Assert.DoesNotContain(ended, left);
            Assert.Contains(alive, left);
        }
        finally
        {
            await RemoveAsync(standalone, alive);
        }
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        for (var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15); !condition(); await Task.Delay(100))
        {
            Assert.True(DateTime.UtcNow < deadline, "the container did not get there in 15 s");
        }
    }

    [Theory]
    [InlineData("always", true, "Conflicting options: --restart and --rm")]
    [InlineData("sometimes", false, "invalid restart policy: unknown policy 'sometimes'")]
    public async Task A_Bad_Restart_Policy_Is_Refused_With_Dockers_Error(string policy, bool autoRemove, string error)
    {
        using var standalone = Standalone();

        var refused = Assert.IsType<CommandRejected>(await standalone.HandleAsync(Run("", "true") with { Restart = policy, AutoRemove = autoRemove }, default));

        Assert.Contains(error, refused.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Named_Volume_Outlives_Its_Container_And_Cannot_Be_Removed_While_One_Holds_It_And_Rm_Leaves_Its_Anonymous_One_Dangling()
    {
        using var standalone = Standalone();
        var host = Directory.CreateDirectory(Path.Combine(Dir, "site")).FullName;
        await File.WriteAllTextAsync(Path.Combine(host, "index.html"), "from-host\n");
        var writer = await RunAsync(standalone, Run("writer", "sh", "-c", "echo kept > /data/f; cat /site/index.html; touch /site/x || echo read-only; ls -d /anon /made")
            with { Volumes = ["runflags-data:/data", $"{host}:/site:ro", "/anon", $"{Path.Combine(Dir, "made")}:/made"] });
        Assert.Equal(0, await WaitAsync(standalone, writer));
        var written = Printed(writer);
        var listed = await PsAsync(standalone, writer);
        var mounts = listed.Mounts;
        var held = Assert.Throws<VolumeStoreException>(() => Executor.Volumes.Remove("runflags-data"));
        var anonymous = mounts.Single(m => m.Target == "/anon").Source;
        Assert.Contains(Executor.Volumes.List(), v => v.Name == anonymous);
        // inspect's Source of a volume: its directory on the node, as `volume inspect` gives its Mountpoint.
        Assert.Equal([anonymous, "runflags-data"], listed.VolumePaths.Keys);
        Assert.Equal(Executor.Volumes.Inspect("runflags-data").Mountpoint, listed.VolumePaths["runflags-data"]);
        Assert.Equal(Executor.Volumes.Inspect(anonymous).Mountpoint, listed.VolumePaths[anonymous]);
        await RemoveAsync(standalone, writer);

        var reader = await RunAsync(standalone, Run("reader", "cat", "/data/f") with { Volumes = ["runflags-data:/data"] });
        Assert.Equal(0, await WaitAsync(standalone, reader));
        var read = Printed(reader);
        await RemoveAsync(standalone, reader);

        Assert.Equal("from-host\nread-only\n/anon\n/made\n", written);
        Assert.Contains("in use", held.Message, StringComparison.Ordinal);
        Assert.Equal("kept\n", read);
        // docker's rm without -v: the anonymous volume stays, anonymous and used by none, for `volume prune`.
        var dangling = Assert.Single(Executor.Volumes.List(), v => v.Name == anonymous);
        Assert.True(dangling.Anonymous);
        Assert.Empty(dangling.UsedBy);
        Assert.True(Directory.Exists(Path.Combine(Dir, "made")));
        Executor.Volumes.Remove("runflags-data");
        Executor.Volumes.Remove(anonymous);
    }

    [Fact]
    public async Task Rm_V_And_The_End_Of_A_Run_Rm_Container_Take_Its_Anonymous_Volumes_But_Never_A_Named_One()
    {
        using var standalone = Standalone();
        var before = Executor.Volumes.List().Select(v => v.Name).ToHashSet(StringComparer.Ordinal);

        // A created container holds its anonymous volume already (docker's create makes it); rm -v takes it, not the named one.
        var created = await RunAsync(standalone, Run("anon-created", "true") with { Volumes = ["runflags-named:/named", "/anon"], Start = false });
        var anonymous = (await PsAsync(standalone, created)).Mounts.Single(m => m.Target == "/anon").Source;
        var held = Assert.Single(Executor.Volumes.List(), v => v.Name == anonymous);
        await RemoveAsync(standalone, created, volumes: true);
        var afterRmV = Executor.Volumes.List().Select(v => v.Name).ToList();

        // --rm: the container and its anonymous volume go when it ends.
        var auto = await RunAsync(standalone, Run("anon-auto", "sh", "-c", "echo x > /anon/f") with { Volumes = ["/anon"], AutoRemove = true });
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (standalone.NameOf(auto) is not null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.Equal([created], held.UsedBy);
        Assert.DoesNotContain(anonymous, afterRmV);
        Assert.Contains("runflags-named", afterRmV);
        Assert.Null(standalone.NameOf(auto));
        Assert.Equal(["runflags-named"], Executor.Volumes.List().Select(v => v.Name).Where(n => !before.Contains(n)));
        Executor.Volumes.Remove("runflags-named");
    }

    [Fact]
    public async Task A_Created_Container_Is_Found_Again_Created_After_A_Node_Host_Restart_With_Its_Volume_And_Then_Starts()
    {
        string id;
        ContainerObject made;
        using (var before = Standalone())
        {
            id = await RunAsync(before, Run("made-only", "sh", "-c", "cat /anon/f; echo ran") with { Volumes = ["/anon"], Start = false });
            made = await PsAsync(before, id);
        }

        var anonymous = made.Mounts.Single(m => m.Target == "/anon").Source;
        await File.WriteAllTextAsync(Path.Combine(Executor.Volumes.Inspect(anonymous).Mountpoint, "f"), "kept\n");

        // The node host restarts: a new executor and standalone containers over the same state, then the swarm's first
        // assignments (none of its tasks here), which keep only what the node still runs.
        var executor = new LinuxExecutor(() => Images, () => new VolumeStore(Path.Combine(Dir, "volumes")), Fixture.Options, NullLoggerFactory.Instance);
        using var after = new StandaloneContainers(executor, Path.Combine(Dir, "standalone"), () => "node", () => null, NullLoggerFactory.Instance);
        await after.RestoreAsync(default);
        await executor.RetainOnlyAsync(new HashSet<string>(StringComparer.Ordinal), new HashSet<string>(StringComparer.Ordinal), default);
        var found = Assert.IsType<ContainerList>(await LocalContainers.HandleAsync(executor, new ListContainers("ps", All: true), TimeProvider.System, _ => null, default,
            after.NameOf, after.RestartOf)).Containers.SingleOrDefault(c => c.Id == id);
        var held = executor.Volumes.Inspect(anonymous);
        var started = Assert.IsType<ContainersChanged>(await after.HandleAsync(new StartContainers("s", ["made-only"]), default));
        var exit = await WaitAsync(after, id);
        var printed = Printed(id);
        await RemoveAsync(after, id, volumes: true);

        Assert.NotNull(found);
        Assert.Equal(("made-only", "created", made.Created), (found.Name, found.State, found.Created));
        Assert.Equal([id], held.UsedBy);
        Assert.Equal("", Assert.Single(started.Results).Error);
        Assert.Equal((0, "kept\nran\n"), (exit, printed));
        Assert.DoesNotContain(executor.Volumes.List(), v => v.Name == anonymous);
    }

    [Fact]
    public async Task A_Run_Whose_Command_Is_Not_Found_Leaves_The_Container_Created_In_Dockers_Words_Unless_Rm()
    {
        const string NotFound = "failed to create task for container: exec: \"nosuch\": executable file not found in $PATH";
        using var standalone = Standalone();

        var refused = Assert.IsType<CommandRejected>(await standalone.HandleAsync(Run("broken", "nosuch"), default));
        var all = Assert.IsType<ContainerList>(await LocalContainers.HandleAsync(Executor, new ListContainers("ps", All: true), TimeProvider.System, _ => null, default,
            standalone.NameOf, standalone.RestartOf)).Containers;
        var kept = all.SingleOrDefault(c => standalone.NameOf(c.Id) == "broken");
        var startedAgain = Assert.IsType<ContainersChanged>(await standalone.HandleAsync(new StartContainers("s", ["broken"]), default));
        var autoRemoved = Assert.IsType<CommandRejected>(await standalone.HandleAsync(Run("broken-rm", "nosuch") with { AutoRemove = true }, default));
        var notExecutable = Assert.IsType<CommandRejected>(await standalone.HandleAsync(Run("broken-exec", "/etc/passwd") with { AutoRemove = true }, default));

        Assert.Equal(NotFound, refused.Reason);
        Assert.NotNull(kept);
        Assert.Equal("created", kept.State);
        Assert.Equal(NotFound, Assert.Single(startedAgain.Results).Error);
        Assert.Equal(NotFound, autoRemoved.Reason);
        Assert.Equal("failed to create task for container: exec: \"/etc/passwd\": permission denied", notExecutable.Reason);
        Assert.Equal((null, "No such container: broken-rm"), standalone.Resolve("broken-rm"));
        Assert.Equal((null, "No such container: broken-exec"), standalone.Resolve("broken-exec"));
        await RemoveAsync(standalone, kept.Id);
        Assert.Null(standalone.NameOf(kept.Id));
    }

    [Fact]
    public async Task A_Failed_Start_Is_Kept_As_Dockers_State_Error_And_Exit_Code_Across_A_Node_Host_Restart_Until_A_Start_Succeeds()
    {
        // The command sits in a bind-mounted directory: missing at first, there for the start after the node host restarts.
        var tools = Path.Combine(Dir, "failed-start-tools");
        Directory.CreateDirectory(tools);
        const string NotFound = "failed to create task for container: exec: \"/opt/tool\": stat /opt/tool: no such file or directory";
        string id;
        ContainerObject failed;
        using (var before = Standalone())
        {
            Assert.IsType<CommandRejected>(await before.HandleAsync(Run("failed-start", "/opt/tool") with { Volumes = [$"{tools}:/opt"] }, default));
            id = before.Resolve("failed-start").Id!;
            failed = await PsAsync(before, id);
        }

        var executor = new LinuxExecutor(() => Images, () => new VolumeStore(Path.Combine(Dir, "volumes")), Fixture.Options, NullLoggerFactory.Instance);
        using var after = new StandaloneContainers(executor, Path.Combine(Dir, "standalone"), () => "node", () => null, NullLoggerFactory.Instance);
        await after.RestoreAsync(default);
        var ps = async () => Assert.IsType<ContainerList>(await LocalContainers.HandleAsync(executor, new ListContainers("ps", All: true), TimeProvider.System, _ => null, default,
            after.NameOf, after.RestartOf)).Containers.Single(c => c.Id == id);
        var restored = await ps();
        await File.WriteAllTextAsync(Path.Combine(tools, "tool"), "#!/bin/sh\necho tool ran\n");
        File.SetUnixFileMode(Path.Combine(tools, "tool"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var started = Assert.IsType<ContainersChanged>(await after.HandleAsync(new StartContainers("s", [id]), default));
        var exit = await WaitAsync(after, id);
        var ran = await ps();
        await RemoveAsync(after, id);

        Assert.Equal(("created", 127, NotFound), (failed.State, failed.ExitCode, failed.Error));
        Assert.Equal(("created", 127, NotFound), (restored.State, restored.ExitCode, restored.Error));
        Assert.Equal("", Assert.Single(started.Results).Error);
        Assert.Equal((0, "exited", 0, ""), (exit, ran.State, ran.ExitCode, ran.Error));
        Assert.False(File.Exists(Path.Combine(Dir, "standalone", id + ".error")));
    }
}
