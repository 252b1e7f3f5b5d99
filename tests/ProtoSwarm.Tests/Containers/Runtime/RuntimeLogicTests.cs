using System.Buffers.Binary;
using System.Text.Json;
using ProtoSwarm.ContainerInit;
using ProtoSwarm.Containers.Runtime;
using ProtoSwarm.Containers.Runtime.Cgroups;
using MountPropagation = ProtoSwarm.Contracts.MountPropagation;

namespace ProtoSwarm.Tests.Containers.Runtime;

// The launcher's decisions against a recording fake: no root, no kernel.
public sealed class RuntimeLogicTests
{
    private const string V1MountInfo =
        "30 25 0:26 / /sys/fs/cgroup/memory rw,nosuid shared:12 - cgroup cgroup rw,memory\n" +
        "31 25 0:27 / /sys/fs/cgroup/cpu rw,nosuid shared:13 - cgroup cgroup rw,cpu\n" +
        "32 25 0:28 / /sys/fs/cgroup/cpuacct rw,nosuid shared:14 - cgroup cgroup rw,cpuacct\n" +
        "33 25 0:29 / /sys/fs/cgroup/pids rw,nosuid shared:15 - cgroup cgroup rw,pids\n" +
        "34 25 0:30 / /sys/fs/cgroup/cpuset rw,nosuid shared:16 - cgroup cgroup rw,cpuset\n" +
        "36 25 0:32 / /sys/fs/cgroup/devices rw,nosuid shared:18 - cgroup cgroup rw,devices\n" +
        "35 25 0:31 / /sys/fs/cgroup/unified rw,nosuid shared:17 - cgroup2 cgroup2 rw\n";
    private const string V1Self = "8:pids:/\n4:memory:/node/abc\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n0::/\n";

    internal static RecordingSyscalls V1Machine()
    {
        var sys = new RecordingSyscalls();
        sys.Files["/proc/self/mountinfo"] = V1MountInfo;
        sys.Files["/proc/self/cgroup"] = V1Self;
        sys.Files["/sys/fs/cgroup/unified/cgroup.controllers"] = "";
        sys.Files["/sys/fs/cgroup/cpuset/cpuset.cpus"] = "0-1\n";
        sys.Files["/sys/fs/cgroup/cpuset/cpuset.mems"] = "0\n";
        sys.Files["/sys/fs/cgroup/cpuset/protoswarm/cpuset.cpus"] = "\n";
        sys.Files["/sys/fs/cgroup/cpuset/protoswarm/cpuset.mems"] = "\n";
        sys.Files["/init"] = "";
        sys.Directories.Add("/layers/a");
        sys.Directories.Add("/layers/b");
        return sys;
    }

    internal static ContainerSpecification Spec() => new()
    {
        Id = "c1",
        Command = ["sh", "-c", "true"],
        Layers = ["/layers/a", "/layers/b"],
        Resources = new ContainerResources { MemoryLimitBytes = 64 << 20, MemoryReservationBytes = 32 << 20, NanoCpus = 500_000_000, CpuReservationNanoCpus = 250_000_000, PidsLimit = 100 },
    };

    internal static readonly ContainerRuntimeOptions Options = new() { InitPath = "/init", StateRoot = "/state" };

    [Fact]
    public void Probe_Chooses_V1_When_The_Unified_Hierarchy_Has_No_Controllers()
    {
        Assert.Equal("cgroupfs v1", CgroupDrivers.Probe(V1Machine()).Name);
    }

    [Fact]
    public void Probe_Chooses_V2_When_The_Unified_Hierarchy_Has_Memory()
    {
        var sys = new RecordingSyscalls();
        sys.Files["/proc/self/mountinfo"] = "35 25 0:31 / /sys/fs/cgroup rw,nosuid shared:17 - cgroup2 cgroup2 rw\n";
        sys.Files["/proc/self/cgroup"] = "0::/system.slice/protoswarmd.service\n";
        sys.Files["/sys/fs/cgroup/cgroup.controllers"] = "cpuset cpu io memory pids\n";

        Assert.Equal("cgroupfs v2", CgroupDrivers.Probe(sys).Name);
    }

    [Fact]
    public void V1_Driver_Writes_Limits_Under_The_Node_Hosts_Own_Cgroup()
    {
        var sys = V1Machine();

        var placement = CgroupDrivers.Probe(sys).Create("c1", Spec().Resources);

        Assert.Equal(
            ["/sys/fs/cgroup/memory/node/abc/protoswarm/c1", "/sys/fs/cgroup/cpu/protoswarm/c1", "/sys/fs/cgroup/cpuacct/protoswarm/c1", "/sys/fs/cgroup/pids/protoswarm/c1", "/sys/fs/cgroup/cpuset/protoswarm/c1", "/sys/fs/cgroup/devices/protoswarm/c1"],
            placement.Directories);
        var writes = sys.Calls.Where(c => c.StartsWith("write", StringComparison.Ordinal)).ToList();
        Assert.Equal(
        [
            "write /sys/fs/cgroup/devices/protoswarm/c1/devices.deny = a",
            .. DeviceRules.Default.Select(rule => $"write /sys/fs/cgroup/devices/protoswarm/c1/devices.allow = {rule}"),
            "write /sys/fs/cgroup/cpuset/protoswarm/cpuset.cpus = 0-1",
            "write /sys/fs/cgroup/cpuset/protoswarm/cpuset.mems = 0",
            "write /sys/fs/cgroup/cpuset/protoswarm/c1/cpuset.cpus = 0-1",
            "write /sys/fs/cgroup/cpuset/protoswarm/c1/cpuset.mems = 0",
            "write /sys/fs/cgroup/memory/node/abc/protoswarm/c1/memory.limit_in_bytes = 67108864",
            "write /sys/fs/cgroup/memory/node/abc/protoswarm/c1/memory.soft_limit_in_bytes = 33554432",
            "write /sys/fs/cgroup/cpu/protoswarm/c1/cpu.cfs_period_us = 100000",
            "write /sys/fs/cgroup/cpu/protoswarm/c1/cpu.cfs_quota_us = 50000",
            "write /sys/fs/cgroup/cpu/protoswarm/c1/cpu.shares = 256",
            "write /sys/fs/cgroup/pids/protoswarm/c1/pids.max = 100",
        ], writes);
    }

    [Fact]
    public void V1_Driver_Writes_Dockers_Device_Rules()
    {
        Assert.Equal(
            ["c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm", "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm"],
            DeviceRules.Default.Select(r => r.ToString()));
    }

    [Fact]
    public void V2_Driver_Attaches_The_Device_Filter_Before_Any_Limit_And_Keeps_Mknod()
    {
        var sys = new RecordingSyscalls();
        sys.Files["/sys/fs/cgroup/node/protoswarm/cgroup.controllers"] = "memory pids\n";
        var driver = new CgroupV2Driver(sys, new MountInfo("/", "/sys/fs/cgroup", "cgroup2", ["rw"]), "0::/node\n");

        driver.Create("c1", Spec().Resources);

        Assert.Equal(DeviceFilterProgram.Build(DeviceRules.Default), sys.DeviceFilters["/sys/fs/cgroup/node/protoswarm/c1"]);
        var mkdir = sys.Calls.IndexOf("mkdir /sys/fs/cgroup/node/protoswarm/c1");
        var attach = sys.Calls.FindIndex(c => c.StartsWith("bpf attach-device /sys/fs/cgroup/node/protoswarm/c1 ", StringComparison.Ordinal));
        Assert.Equal(mkdir + 1, attach);
    }

    [Fact]
    public async Task A_Container_On_V2_Keeps_Mknod_Since_The_Device_Filter_Guards_The_Host()
    {
        var sys = V1Machine();
        sys.Files["/sys/fs/cgroup/node/protoswarm/cgroup.controllers"] = "memory pids\n";
        sys.InitSays.Add("started 777");
        var driver = new CgroupV2Driver(sys, new MountInfo("/", "/sys/fs/cgroup", "cgroup2", ["rw"]), "0::/node\n");

        await using var container = await LinuxContainer.StartAsync(Spec(), Options, sys, driver, TimeProvider.System, CancellationToken.None);

        var config = JsonSerializer.Deserialize(sys.Files["/state/c1/config.json"], InitConfigJson.Default.InitConfig)!;
        Assert.True(Capabilities.Has(config.Capabilities, "MKNOD"));
        Assert.True(sys.DeviceFilters.ContainsKey("/sys/fs/cgroup/node/protoswarm/c1"));
        sys.Say("exit 0");
        sys.InitSide!.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        Assert.Equal(new ContainerExit(0, null, false), await container.WaitAsync());
    }

    [Fact]
    public void V2_Driver_Refuses_The_Container_When_The_Filter_Cannot_Be_Attached()
    {
        var sys = new RecordingSyscalls { DeviceFilterErrno = 22 };
        sys.Files["/sys/fs/cgroup/node/protoswarm/cgroup.controllers"] = "memory\n";
        var driver = new CgroupV2Driver(sys, new MountInfo("/", "/sys/fs/cgroup", "cgroup2", ["rw"]), "0::/node\n");

        var e = Assert.Throws<CgroupException>(() => driver.Create("c1", new ContainerResources()));

        Assert.Contains("device filter", e.Message, StringComparison.Ordinal);
        Assert.Contains("CONFIG_CGROUP_BPF", e.Message, StringComparison.Ordinal);
        Assert.Contains("rmdir /sys/fs/cgroup/node/protoswarm/c1", sys.Calls);
    }

    [Fact]
    public void V2_Driver_Enables_Controllers_And_Writes_Limits()
    {
        var sys = new RecordingSyscalls();
        var mount = new MountInfo("/", "/sys/fs/cgroup", "cgroup2", ["rw"]);
        sys.Files["/sys/fs/cgroup/node/protoswarm/cgroup.controllers"] = "cpuset cpu memory pids\n";
        var driver = new CgroupV2Driver(sys, mount, "0::/node\n");

        var placement = driver.Create("c1", Spec().Resources);
        sys.Files["/sys/fs/cgroup/node/protoswarm/c1/memory.events"] = "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n";

        Assert.Equal(["/sys/fs/cgroup/node/protoswarm/c1"], placement.Directories);
        Assert.True(sys.Calls.Contains("write /sys/fs/cgroup/node/protoswarm/cgroup.subtree_control = +memory +cpu +pids +cpuset"), string.Join("\n", sys.Calls));
        Assert.Contains("write /sys/fs/cgroup/node/protoswarm/c1/memory.max = 67108864", sys.Calls);
        Assert.Contains("write /sys/fs/cgroup/node/protoswarm/c1/cpu.max = 50000 100000", sys.Calls);
        Assert.Contains("write /sys/fs/cgroup/node/protoswarm/c1/cpu.weight = 10", sys.Calls);
        Assert.Contains("write /sys/fs/cgroup/node/protoswarm/c1/pids.max = 100", sys.Calls);
        Assert.True(driver.WasOomKilled(placement));
    }

    [Fact]
    public async Task Start_Writes_The_Init_Config_And_Returns_The_Pid_Init_Reports()
    {
        var sys = V1Machine();
        sys.InitSays.Add("started 777");

        await using var container = await LinuxContainer.StartAsync(Spec(), Options, sys, CgroupDrivers.Probe(sys), TimeProvider.System, default);

        Assert.Equal(777, container.Pid);
        var config = JsonSerializer.Deserialize(sys.Files["/state/c1/config.json"], InitConfigJson.Default.InitConfig)!;
        Assert.Equal(["/layers/a", "/layers/b"], config.LowerDirs);
        Assert.Equal("/state/c1/upper", config.UpperDir);
        Assert.Equal("/state/c1/rootfs", config.RootfsMount);
        Assert.Equal(0xa80425fbUL, config.Capabilities);
        Assert.Contains("/sys/fs/cgroup/memory/node/abc/protoswarm/c1/cgroup.procs", config.CgroupProcs);
        Assert.Equal("c1", config.Hostname);
        Assert.Contains("/proc/sys", config.ReadonlyPaths);
        Assert.NotEmpty(config.Seccomp);
        sys.Say("exit 0");
        sys.InitSide!.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        Assert.Equal(new ContainerExit(0, null, false), await container.WaitAsync());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_Failed_Init_Step_Becomes_The_Start_Error_And_Nothing_Is_Left(bool shared)
    {
        var sys = V1Machine();
        sys.InitSays.Add("error pivot_root: Operation not permitted");
        var spawned = Task.Run(async () =>
        {
            while (sys.InitSide is null)
            {
                await Task.Delay(5);
            }
            sys.InitSide.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        });

        var e = await Assert.ThrowsAsync<ContainerStartException>(() =>
            LinuxContainer.StartAsync(Spec(), Options with { SharedMonitor = shared }, sys, CgroupDrivers.Probe(sys), TimeProvider.System, default));
        await spawned;

        Assert.Equal("container init: pivot_root: Operation not permitted", e.Message);
        Assert.Contains(shared ? "spawn /init /state/c1/config.json shared" : "spawn /init /state/c1/config.json", sys.Calls);
        // A monitor of its own is this process's child and is reaped; the shared one serves on.
        Assert.Equal(!shared, sys.Calls.Contains("reap 4242"));
        Assert.Contains("rmdir /sys/fs/cgroup/memory/node/abc/protoswarm/c1", sys.Calls);
        Assert.Equal("rm -r /state/c1", sys.Calls[^1]);
    }

    [Fact]
    public async Task Exit_By_Sigkill_In_A_Cgroup_That_Saw_An_Oom_Kill_Is_Reported_As_Oom()
    {
        var sys = V1Machine();
        sys.InitSays.Add("started 777");
        await using var container = await LinuxContainer.StartAsync(Spec(), Options, sys, CgroupDrivers.Probe(sys), TimeProvider.System, default);
        sys.Files["/sys/fs/cgroup/memory/node/abc/protoswarm/c1/memory.oom_control"] = "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n";

        sys.Say("exit 9");
        sys.InitSide!.Shutdown(System.Net.Sockets.SocketShutdown.Send);

        Assert.Equal(new ContainerExit(137, 9, true), await container.WaitAsync().WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Stop_Sends_The_Signal_Then_Sigkill_After_The_Grace_Period()
    {
        var sys = V1Machine();
        sys.InitSays.Add("started 777");
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        await using var container = await LinuxContainer.StartAsync(Spec(), Options, sys, CgroupDrivers.Probe(sys), time, default);

        var stop = container.StopAsync(15, TimeSpan.FromSeconds(10));
        Assert.Equal("kill 15\n", sys.Heard());
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal("kill 9\n", sys.Heard());
        sys.Say("exit 9");
        sys.InitSide!.Shutdown(System.Net.Sockets.SocketShutdown.Send);

        Assert.Equal(new ContainerExit(137, 9, false), await stop.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Start_Saves_The_Cgroups_So_An_Attached_Container_Is_Removed_Cleanly()
    {
        var sys = V1Machine();
        sys.InitSays.Add("started 777");
        var started = await LinuxContainer.StartAsync(Spec(), Options, sys, CgroupDrivers.Probe(sys), TimeProvider.System, default);
        started.Detach();
        sys.Listening.Add("/state/c1/monitor.sock");
        sys.Files["/proc/self/cgroup"] = "4:memory:/elsewhere\n"; // the restarted host runs in another cgroup

        var attached = await LinuxContainer.AttachAsync("c1", Options, sys, CgroupDrivers.Probe(sys), TimeProvider.System, default);

        Assert.NotNull(attached);
        Assert.Equal(777, attached.Pid);
        Assert.Equal(5151, attached.MonitorPid);
        var remove = attached.RemoveAsync();
        Assert.Equal("kill 9\n", sys.Heard());
        sys.Say("exit 9");
        sys.InitSide!.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        await remove.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Contains("rmdir /sys/fs/cgroup/memory/node/abc/protoswarm/c1", sys.Calls);
        Assert.DoesNotContain(sys.Calls, c => c.StartsWith("reap 5151", StringComparison.Ordinal));
        // The first host object still reaps the init it spawned (4242) in the background, whenever that comes.
        Assert.Equal("rm -r /state/c1", sys.CallsSnapshot().Last(c => !c.StartsWith("reap 4242", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Attach_Without_A_Monitor_Reads_The_Recorded_Exit()
    {
        var sys = V1Machine();
        sys.Directories.Add("/state/c1");
        sys.Files["/state/c1/config.json"] = "{}";
        sys.Files["/state/c1/cgroups"] = "/sys/fs/cgroup/memory/node/abc/protoswarm/c1\n";
        sys.Files["/state/c1/exit"] = "9\n";
        sys.Files["/sys/fs/cgroup/memory/node/abc/protoswarm/c1/memory.oom_control"] = "oom_kill 1\n";

        var attached = await LinuxContainer.AttachAsync("c1", Options, sys, CgroupDrivers.Probe(sys), TimeProvider.System, default);

        Assert.NotNull(attached);
        Assert.Equal(new ContainerExit(137, 9, true), await attached.WaitAsync());
        Assert.Equal(0, attached.Pid);
        Assert.Equal(["c1"], LinuxContainer.List(Options, sys));
        Assert.Null(await LinuxContainer.AttachAsync("c2", Options, sys, CgroupDrivers.Probe(sys), TimeProvider.System, default));
    }

    private const string MemoryCgroup = "/sys/fs/cgroup/memory/node/abc/protoswarm/c1";
    private const string PidsCgroup = "/sys/fs/cgroup/pids/protoswarm/c1";

    // A container directory left by a node host before this one: its cgroups saved, no exit status.
    private static RecordingSyscalls MachineWithAContainerLeft(string procs)
    {
        var sys = V1Machine();
        sys.Directories.Add("/state/c1");
        sys.Directories.Add(MemoryCgroup);
        sys.Directories.Add(PidsCgroup);
        sys.Files["/state/c1/config.json"] = "{}";
        sys.Files["/state/c1/cgroups"] = MemoryCgroup + "\n" + PidsCgroup + "\n";
        sys.Files[MemoryCgroup + "/cgroup.procs"] = procs;
        sys.Files[PidsCgroup + "/cgroup.procs"] = procs;
        return sys;
    }

    [Fact]
    public async Task Attach_With_The_Monitor_Gone_Kills_What_Its_Cgroup_Still_Holds_And_Says_So()
    {
        var sys = MachineWithAContainerLeft("777\n778\n");

        var attached = await LinuxContainer.AttachAsync("c1", Options, sys, CgroupDrivers.Probe(sys), TimeProvider.System, default);

        Assert.NotNull(attached);
        Assert.Equal(new ContainerExit(137, 9, false, LinuxContainer.MonitorGoneMessage), await attached.WaitAsync());
        Assert.Equal("monitor gone: the container's processes were killed", LinuxContainer.MonitorGoneMessage);
        Assert.Equal(["kill -9 777", "kill -9 778"], sys.Calls.Where(c => c.StartsWith("kill", StringComparison.Ordinal)));
        Assert.Equal("", sys.Files[MemoryCgroup + "/cgroup.procs"]);

        await attached.RemoveAsync();
        Assert.Contains("rmdir " + MemoryCgroup, sys.Calls);
        Assert.Contains("rmdir " + PidsCgroup, sys.Calls);
        Assert.Equal("rm -r /state/c1", sys.Calls[^1]);
        Assert.Empty(LinuxContainer.List(Options, sys));
    }

    [Fact]
    public async Task A_Monitor_That_Does_Not_Answer_In_Time_Is_Killed_With_What_Its_Container_Runs()
    {
        var sys = MachineWithAContainerLeft("777\n");
        sys.Listening.Add("/state/c1/monitor.sock"); // listening, but it says nothing (stopped, or stuck)

        var attached = await LinuxContainer.AttachAsync("c1", Options with { StartTimeout = TimeSpan.FromMilliseconds(100) }, sys,
            CgroupDrivers.Probe(sys), TimeProvider.System, default);

        // Reported ended only once nothing of it runs: the orchestrator will start a replacement.
        Assert.NotNull(attached);
        Assert.Equal(new ContainerExit(137, 9, false, "monitor did not answer within 0.1 s: it was killed with the container's processes"), await attached.WaitAsync());
        Assert.Equal(["kill monitor 5151", "kill -9 777"], sys.Calls.Where(c => c.StartsWith("kill", StringComparison.Ordinal)));
        Assert.Equal("", sys.Files[MemoryCgroup + "/cgroup.procs"]);
    }

    [Fact]
    public async Task A_Monitor_That_Hangs_Up_Without_An_Exit_Status_Takes_The_Container_Along()
    {
        var sys = V1Machine();
        sys.InitSays.Add("started 777");
        var container = await LinuxContainer.StartAsync(Spec(), Options, sys, CgroupDrivers.Probe(sys), TimeProvider.System, default);
        sys.Files[MemoryCgroup + "/cgroup.procs"] = "777\n";

        sys.InitSide!.Shutdown(System.Net.Sockets.SocketShutdown.Send); // the monitor was SIGKILLed

        Assert.Equal(new ContainerExit(137, 9, false, LinuxContainer.MonitorGoneMessage), await container.WaitAsync().WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Contains("kill -9 777", sys.CallsSnapshot());
        await container.RemoveAsync();
        Assert.Contains("rmdir " + MemoryCgroup, sys.CallsSnapshot());
    }

    [Fact]
    public void The_V2_Driver_Kills_Through_Cgroup_Kill_When_The_Kernel_Has_It()
    {
        var sys = new RecordingSyscalls();
        const string dir = "/sys/fs/cgroup/system.slice/protoswarmd.service/protoswarm/c1";
        sys.Files["/proc/self/mountinfo"] = "35 25 0:31 / /sys/fs/cgroup rw,nosuid shared:17 - cgroup2 cgroup2 rw\n";
        sys.Files["/proc/self/cgroup"] = "0::/system.slice/protoswarmd.service\n";
        sys.Files["/sys/fs/cgroup/cgroup.controllers"] = "cpuset cpu io memory pids\n";
        sys.Files[dir + "/cgroup.kill"] = "";
        sys.Files[dir + "/cgroup.procs"] = "900\n";
        var driver = CgroupDrivers.Probe(sys);

        var result = driver.KillAll(new CgroupPlacement([dir]));

        // The fake's cgroup.kill file kills nobody, so the rounds after it do: both are tried, in that order.
        Assert.Equal(["write " + dir + "/cgroup.kill = 1", "kill -9 900"], sys.Calls);
        Assert.Equal(1, result.Killed);
        Assert.Empty(result.Left);
    }

    [Theory]
    [InlineData("bad id!", "container id \"bad id!\"")]
    [InlineData("no-command", "no command")]
    [InlineData("tiny-memory", "memory limit 1048576 bytes: the minimum is 6 MiB")]
    [InlineData("bad-cap", "unknown capability \"SYS_WIZARD\"")]
    [InlineData("many-cpus", "cpu limit 4096: the range of CPUs on this node is 0.01 to")]
    [InlineData("missing-layer", "image layer /layers/missing does not exist")]
    public void Invalid_Specifications_Are_Refused_With_A_Message(string id, string expected)
    {
        var spec = Spec() with { Id = id };
        spec = id switch
        {
            "no-command" => spec with { Command = [] },
            "tiny-memory" => spec with { Resources = new ContainerResources { MemoryLimitBytes = 1 << 20 } },
            "bad-cap" => spec with { CapAdd = ["SYS_WIZARD"] },
            "many-cpus" => spec with { Resources = new ContainerResources { NanoCpus = 4096L * 1_000_000_000 } },
            "missing-layer" => spec with { Layers = ["/layers/missing"] },
            _ => spec,
        };

        var problems = InitConfigBuilder.Validate(spec, V1Machine());

        Assert.Contains(problems, p => p.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Mounts_Are_Checked_Then_Written_Parents_First_With_Tmpfs_Data()
    {
        var sys = V1Machine();
        sys.Directories.Add("/srv/data");
        var bad = Spec() with
        {
            Mounts = [ContainerMount.Bind("/no/such", "/a"), ContainerMount.Tmpfs("/"), ContainerMount.Tmpfs("/x"), ContainerMount.Tmpfs("/x/"), ContainerMount.Bind("rel", "/r")],
        };
        var good = Spec() with
        {
            Mounts = [ContainerMount.Tmpfs("/data/cache", 1 << 20, 0x3F8), ContainerMount.Bind("/srv/data", "/data", readOnly: true), ContainerMount.Tmpfs("/run")],
        };

        var problems = InitConfigBuilder.Validate(bad, sys);
        var config = InitConfigBuilder.Build(good, new ContainerPaths("/state/c1"), new CgroupPlacement([]), "");

        Assert.Equal(
            [
                "invalid mount config for type \"bind\": bind source path does not exist: /no/such",
                "invalid mount config for type \"tmpfs\": target \"/\" must be an absolute path other than / without '..'",
                "duplicate mount point: /x/",
                "invalid mount config for type \"bind\": invalid mount path: 'rel' mount path must be absolute",
            ],
            problems);
        Assert.Empty(InitConfigBuilder.Validate(good, sys));
        Assert.Equal(["/data", "/run", "/data/cache"], config.Mounts.Select(m => m.Target));
        Assert.Equal(("bind", "/srv/data", true, null), (config.Mounts[0].Type, config.Mounts[0].Source, config.Mounts[0].ReadOnly, config.Mounts[0].Data));
        Assert.Equal(("tmpfs", "size=1048576,mode=1770"), (config.Mounts[2].Type, config.Mounts[2].Data));
        Assert.Equal("", config.Mounts[1].Data);
    }

    [Fact]
    public void A_Read_Only_Bind_Is_Read_Only_With_Its_Submounts_Unless_Writable_Recursion_Or_The_Kernel_Says_Otherwise()
    {
        var sys = V1Machine();
        sys.Directories.Add("/srv");
        var spec = Spec() with
        {
            Mounts =
            [
                ContainerMount.Bind("/srv", "/a", readOnly: true),
                ContainerMount.Bind("/srv", "/b", readOnly: true) with { ReadOnlyNonRecursive = true },
                ContainerMount.Bind("/srv", "/c", readOnly: true) with { ReadOnlyForceRecursive = true },
                ContainerMount.Bind("/srv", "/d"),
                ContainerMount.Tmpfs("/e", readOnly: true),
            ],
        };

        var recursive = InitConfigBuilder.Build(spec, new ContainerPaths("/state/c1"), new CgroupPlacement([]), "", recursiveReadOnly: true);
        var oldKernel = InitConfigBuilder.Build(spec, new ContainerPaths("/state/c1"), new CgroupPlacement([]), "", recursiveReadOnly: false);

        Assert.Equal([("/a", true), ("/b", false), ("/c", true), ("/d", false), ("/e", false)], recursive.Mounts.Select(m => (m.Target, m.RecursiveReadOnly)));
        Assert.All(oldKernel.Mounts, m => Assert.False(m.RecursiveReadOnly));
        Assert.Empty(InitConfigBuilder.Validate(spec, sys));
        sys.RecursiveReadOnly = false;
        Assert.Equal(
            ["mount /c: bind-recursive=readonly needs a recursively read-only mount, and this node's kernel has no mount_setattr(2) (Linux 5.12 or later); "
                + "use bind-recursive=enabled to have only its top mount read-only here, or constrain the service to nodes with a newer kernel"],
            InitConfigBuilder.Validate(spec, sys));
    }

    [Fact]
    public void A_Shared_Or_Slave_Bind_Needs_A_Shared_Source_Mount_And_Makes_The_Nodes_Mounts_Rslave()
    {
        var sys = V1Machine();
        sys.Directories.UnionWith(["/srv/private", "/srv/shared/in", "/srv/slave"]);
        sys.Files["/proc/self/mountinfo"] = """
            22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw
            30 22 0:40 / /srv/shared rw shared:7 - tmpfs tmpfs rw
            31 22 0:41 / /srv/slave rw master:7 - tmpfs tmpfs rw
            """;
        ContainerSpecification With(string source, MountPropagation propagation) =>
            Spec() with { Mounts = [ContainerMount.Bind(source, "/data", propagation: propagation)] };

        Assert.Empty(InitConfigBuilder.Validate(With("/srv/shared/in", MountPropagation.RShared), sys));
        Assert.Empty(InitConfigBuilder.Validate(With("/srv/slave", MountPropagation.RSlave), sys));
        Assert.Empty(InitConfigBuilder.Validate(With("/srv/private", MountPropagation.Private), sys));
        Assert.Equal(
            ["path /srv/slave is mounted on /srv/slave but it is not a shared mount: bind-propagation=shared needs it shared on the node (mount --make-rshared /srv/slave)"],
            InitConfigBuilder.Validate(With("/srv/slave", MountPropagation.Shared), sys));
        Assert.Equal(
            ["path /srv/private is mounted on / but it is not a shared or slave mount: bind-propagation=slave needs it shared on the node (mount --make-rshared /)"],
            InitConfigBuilder.Validate(With("/srv/private", MountPropagation.Slave), sys));

        var shared = InitConfigBuilder.Build(
            Spec() with { Mounts = [ContainerMount.Bind("/srv/shared/in", "/a", propagation: MountPropagation.RShared), ContainerMount.Bind("/srv/private", "/b", nonRecursive: true)] },
            new ContainerPaths("/state/c1"), new CgroupPlacement([]), "");
        var plain = InitConfigBuilder.Build(Spec() with { Mounts = [ContainerMount.Bind("/srv/private", "/b", propagation: MountPropagation.Private)] }, new ContainerPaths("/state/c1"), new CgroupPlacement([]), "");

        Assert.Equal("rslave", shared.RootPropagation);
        Assert.Equal([("rshared", false), ("rprivate", true)], shared.Mounts.Select(m => (m.Propagation, m.NonRecursive)));
        Assert.Equal("rprivate", plain.RootPropagation);
        Assert.Equal("private", plain.Mounts[0].Propagation);
    }

    [Theory]
    [InlineData("/srv/shared/in/deep", "/srv/shared", true, false)]
    [InlineData("/srv/shared", "/srv/shared", true, false)]
    [InlineData("/srv/sharedx", "/", true, false)]
    [InlineData("/mnt/my dir/x", "/mnt/my dir", false, true)]
    [InlineData("/srv/twice", "/srv/twice", false, false)]
    public void The_Mount_Holding_A_Path_Is_The_Deepest_And_Last_Listed(string path, string mountPoint, bool shared, bool slave)
    {
        const string Mountinfo = """
            22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
            30 22 0:40 / /srv/shared rw shared:7 - tmpfs tmpfs rw
            31 22 0:41 / /mnt/my\040dir rw master:7 - tmpfs tmpfs rw
            32 22 0:42 / /srv/twice rw shared:9 - tmpfs tmpfs rw
            33 32 0:43 / /srv/twice rw - tmpfs tmpfs rw
            """;

        var holder = MountInfo.Containing(Mountinfo, path);

        Assert.NotNull(holder);
        Assert.Equal((mountPoint, shared, slave), (holder.MountPoint, holder.Shared, holder.Slave));
    }

    [Fact]
    public void A_Hostname_Is_Refused_Only_For_What_Sethostname_Or_Etc_Hosts_Cannot_Take()
    {
        // A stack service's "{{.Service.Name}}-{{.Task.Slot}}" expands to a name with '_': the node must start it.
        Assert.Empty(InitConfigBuilder.Validate(Spec() with { Hostname = "st_x-api-1" }, V1Machine()));
        Assert.Empty(InitConfigBuilder.Validate(Spec() with { Hostname = new string('a', 64) }, V1Machine()));

        Assert.Equal(
            [$"hostname: '{new string('a', 65)}' is not a hostname: it is longer than 64 bytes"],
            InitConfigBuilder.Validate(Spec() with { Hostname = new string('a', 65) }, V1Machine()));
        Assert.Equal(
            ["hostname: 'two words' is not a hostname: it holds white space or a control character"],
            InitConfigBuilder.Validate(Spec() with { Hostname = "two words" }, V1Machine()));
    }

    [Fact]
    public void Sysctls_Are_Checked_Then_Passed_To_Init_With_The_Init_Switch()
    {
        var bad = Spec() with { Sysctls = new Dictionary<string, string> { ["vm.swappiness"] = "10", ["net.core.somaxconn"] = "" } };
        var good = Spec() with { Init = true, Sysctls = new Dictionary<string, string> { ["net.core.somaxconn"] = "1024", ["kernel.shmmax"] = "1" } };

        var problems = InitConfigBuilder.Validate(bad, V1Machine());
        var config = InitConfigBuilder.Build(good, new ContainerPaths("/state/c1"), new CgroupPlacement([]), "");
        var plain = InitConfigBuilder.Build(Spec(), new ContainerPaths("/state/c1"), new CgroupPlacement([]), "");

        Assert.Equal(
            [
                "sysctl vm.swappiness: 'vm.swappiness' is not a namespaced sysctl: it is shared by the whole node, so a container may not set it",
                "sysctl net.core.somaxconn: the value must be one line of text",
            ],
            problems);
        Assert.Empty(InitConfigBuilder.Validate(good, V1Machine()));
        Assert.Equal([("kernel.shmmax", "1"), ("net.core.somaxconn", "1024")], config.Sysctls.Select(s => (s.Key, s.Value)));
        Assert.True(config.Init);
        Assert.False(plain.Init);
        Assert.Empty(plain.Sysctls);
    }

    [Fact]
    public void A_Terminal_Is_Passed_To_Init_With_Term_Xterm_Unless_The_Environment_Sets_Term()
    {
        var paths = new ContainerPaths("/state/c1");

        var tty = InitConfigBuilder.Build(Spec() with { Tty = true, Env = ["A=1"] }, paths, new CgroupPlacement([]), "");
        var own = InitConfigBuilder.Build(Spec() with { Tty = true, Env = ["TERM=vt100", "A=1"] }, paths, new CgroupPlacement([]), "");
        var plain = InitConfigBuilder.Build(Spec() with { Env = ["A=1"] }, paths, new CgroupPlacement([]), "");

        Assert.True(tty.Tty);
        Assert.Equal(["TERM=xterm", "A=1"], tty.Env);
        Assert.Equal(["TERM=vt100", "A=1"], own.Env);
        Assert.False(plain.Tty);
        Assert.Equal(["A=1"], plain.Env);
    }

    [Fact]
    public void Open_Stdin_Has_Init_Open_The_State_Directorys_Fifo_As_Stdin_But_Not_On_A_Terminal()
    {
        var paths = new ContainerPaths("/state/c1");

        var open = InitConfigBuilder.Build(Spec() with { OpenStdin = true }, paths, new CgroupPlacement([]), "");
        var tty = InitConfigBuilder.Build(Spec() with { OpenStdin = true, Tty = true }, paths, new CgroupPlacement([]), "");
        var plain = InitConfigBuilder.Build(Spec(), paths, new CgroupPlacement([]), "");

        Assert.Equal("/state/c1/stdin", open.StdinPath);
        Assert.Null(tty.StdinPath);
        Assert.Null(plain.StdinPath);
    }

    [Fact]
    public void Capabilities_Are_Dockers_Default_With_Adds_And_Drops()
    {
        Assert.Equal(0xa80425fbUL, Capabilities.Compute([], []));
        Assert.Equal(0xa80425fbUL | (1UL << 21), Capabilities.Compute(["CAP_SYS_ADMIN"], []));
        Assert.Equal(0xa80425fbUL & ~(1UL << 13), Capabilities.Compute([], ["NET_RAW"]));
        Assert.Equal(1UL << 10, Capabilities.Compute(["NET_BIND_SERVICE"], ["ALL"]));
    }

    [Theory]
    [InlineData(165, 0UL, false, SeccompProfile.RetErrno | 1)]     // mount
    [InlineData(165, 1UL << 21, false, SeccompProfile.RetAllow)]   // mount with SYS_ADMIN
    [InlineData(169, 0UL, false, SeccompProfile.RetErrno | 1)]     // reboot
    [InlineData(250, 1UL << 21, false, SeccompProfile.RetErrno | 1)] // keyctl, whatever the capabilities
    [InlineData(0, 0UL, false, SeccompProfile.RetAllow)]           // read
    [InlineData(435, 0UL, false, SeccompProfile.RetErrno | 38)]    // clone3: ENOSYS, libc falls back to clone
    [InlineData(0x40000000, 0UL, false, SeccompProfile.RetErrno | 1)] // x32
    [InlineData(0, 0UL, true, SeccompProfile.RetErrno | 1)]        // i386
    public void Seccomp_Filter_Decides_Like_Dockers_Default(int nr, ulong extraCaps, bool i386, uint expected)
    {
        var program = SeccompProfile.Build(Capabilities.Compute([], []) | extraCaps);

        Assert.Equal(expected, Run(program, i386 ? 0x40000003u : SeccompProfile.AuditArchX86_64, nr, 0));
    }

    [Fact]
    public void Seccomp_Filter_Refuses_Clone_Into_New_Namespaces_Without_Sys_Admin()
    {
        var program = SeccompProfile.Build(Capabilities.Compute([], []));
        var withSysAdmin = SeccompProfile.Build(Capabilities.Compute(["SYS_ADMIN"], []));

        Assert.Equal(SeccompProfile.RetAllow, Run(program, SeccompProfile.AuditArchX86_64, 56, 0x01200011)); // fork-like clone
        Assert.Equal(SeccompProfile.RetErrno | 1, Run(program, SeccompProfile.AuditArchX86_64, 56, 0x10000000)); // CLONE_NEWUSER
        Assert.Equal(SeccompProfile.RetAllow, Run(withSysAdmin, SeccompProfile.AuditArchX86_64, 56, 0x20000000));
    }

    // A classic BPF interpreter for the few instructions the profile uses, over seccomp_data.
    private static uint Run(byte[] program, uint arch, int nr, uint arg0)
    {
        uint a = 0;
        for (var pc = 0; ;)
        {
            var insn = program.AsSpan(pc * 8, 8);
            var code = BinaryPrimitives.ReadUInt16LittleEndian(insn);
            var (jt, jf, k) = (insn[2], insn[3], BinaryPrimitives.ReadUInt32LittleEndian(insn[4..]));
            pc++;
            switch (code)
            {
                case 0x20:
                    a = k switch { 0 => (uint)nr, 4 => arch, 16 => arg0, _ => throw new InvalidOperationException($"load {k}") };
                    break;
                case 0x15:
                    pc += a == k ? jt : jf;
                    break;
                case 0x35:
                    pc += a >= k ? jt : jf;
                    break;
                case 0x45:
                    pc += (a & k) != 0 ? jt : jf;
                    break;
                case 0x06:
                    return k;
                default:
                    throw new InvalidOperationException($"opcode {code:x}");
            }
        }
    }
}
