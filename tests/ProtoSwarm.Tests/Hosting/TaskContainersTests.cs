using System.Text;
using ProtoSwarm.Containers.Images;
using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Runtime;

namespace ProtoSwarm.Tests.Hosting;

public sealed class TaskContainersTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static ImageConfig Config(string[]? entrypoint = null, string[]? cmd = null, string[]? env = null, string workdir = "", string user = "",
        string stopSignal = "", ImageHealthcheck? health = null) =>
        ImageConfig.Parse(Encoding.UTF8.GetBytes("{}"), "test") with
        {
            Entrypoint = [.. entrypoint ?? []],
            Cmd = [.. cmd ?? []],
            Env = [.. env ?? []],
            WorkingDir = workdir,
            User = user,
            StopSignal = stopSignal,
            Healthcheck = health,
        };

    private static TaskObject Task(ContainerSpec container, ResourceRequirements? resources = null) =>
        new("abcdefghijklmnopqrstuvwxy", new ObjectMeta(1, T0, T0), "svc", 1, "node", new TaskSpec(container, resources), 1, TaskState.Running,
            new TaskObservedStatus(TaskState.Assigned, T0));

    private static StoredImage Image(ImageConfig config) => new("sha256:1", "sha256:2", ["busybox:latest"], T0, 1, config, []);

    [Fact]
    public void The_Image_Entrypoint_And_Cmd_Run_When_The_Task_Gives_No_Command()
    {
        var config = Config(entrypoint: ["/entry"], cmd: ["--serve"]);

        Assert.Equal<string>(["/entry", "--serve"], TaskContainers.Command(new ContainerSpec("busybox"), config));
        Assert.Equal<string>(["/entry", "-v"], TaskContainers.Command(new ContainerSpec("busybox", Args: ["-v"]), config));
        Assert.Equal<string>(["sh", "-c", "x"], TaskContainers.Command(new ContainerSpec("busybox", Command: ["sh"], Args: ["-c", "x"]), config));
        Assert.Equal<string>(["sh"], TaskContainers.Command(new ContainerSpec("busybox", Command: ["sh"]), config));
    }

    [Theory]
    [InlineData(null, null, "/entry", "--serve")]
    [InlineData(null, "-v", "/entry", "-v")]
    [InlineData("sh", "-c x", "sh", "-c x")]
    [InlineData("sh", null, "sh", "")]
    public void The_Entrypoint_And_The_Command_Are_Kept_Apart_As_Dockers_Daemon_Merges_Them(string? command, string? args, string entrypoint, string cmd)
    {
        var config = Config(entrypoint: ["/entry"], cmd: ["--serve"]);
        var container = new ContainerSpec("busybox", Command: command is null ? [] : [.. command.Split(' ')], Args: args is null ? [] : [.. args.Split(' ')]);

        var process = TaskContainers.Process(container, config);

        Assert.Equal((entrypoint, cmd), (string.Join(' ', process.Entrypoint), string.Join(' ', process.Cmd)));
        Assert.Equal<string>([.. process.Entrypoint, .. process.Cmd], TaskContainers.Command(container, config));
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public void Init_Runs_Only_When_The_Task_Asks_The_Nodes_Default_Being_None(bool? init, bool expected)
    {
        var spec = TaskContainers.Specification(Task(new ContainerSpec("busybox", Command: ["sh"], Init: init)), Image(Config()), ["/layers/a"]);

        Assert.Equal(expected, spec.Init);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Tty_Gives_The_Container_A_Terminal_Only_When_The_Task_Asks(bool tty)
    {
        var spec = TaskContainers.Specification(Task(new ContainerSpec("busybox", Command: ["sh"], TTY: tty)), Image(Config()), ["/layers/a"]);

        Assert.Equal(tty, spec.Tty);
    }

    [Fact]
    public void Sysctls_Pass_To_The_Container_As_Given()
    {
        var sysctls = NamespacedSysctls.None.Add("net.core.somaxconn", "1024").Add("kernel.shmmax", "68719476736");

        var spec = TaskContainers.Specification(Task(new ContainerSpec("busybox", Command: ["sh"], Sysctls: sysctls)), Image(Config()), ["/layers/a"]);
        var bare = TaskContainers.Specification(Task(new ContainerSpec("busybox", Command: ["sh"])), Image(Config()), ["/layers/a"]);

        Assert.Equal(sysctls.OrderBy(s => s.Key), spec.Sysctls.OrderBy(s => s.Key));
        Assert.Empty(bare.Sysctls);
    }

    [Fact]
    public void Task_Env_Overrides_The_Image_Env_By_Key_And_Hostname_Is_Set()
    {
        var env = TaskContainers.Environment(["PATH=/bin", "A=1", "B=2"], ["A=9", "C=3"], "host1");

        Assert.Equal<string>(["PATH=/bin", "A=9", "B=2", "C=3", "HOSTNAME=host1"], env);
    }

    [Fact]
    public void A_Bare_Task_Key_Unsets_The_Image_Variable_And_Never_Reaches_The_Container_As_A_Bare_Line()
    {
        var env = TaskContainers.Environment(["PATH=/bin", "A=1", "B=2"], ["PATH", "C", "B=3", "A", "A=again"], "host1");

        // As docker's daemon merges it: PATH and C are gone (init then adds its default PATH), A set again keeps its place.
        Assert.Equal<string>(["A=again", "B=3", "HOSTNAME=host1"], env);
    }

    [Fact]
    public void The_Specification_Takes_Dir_User_Hostname_Limits_And_Confinement_From_The_Task_Over_The_Image()
    {
        var container = new ContainerSpec("busybox", Command: ["sleep", "1"], Dir: "/srv", Hostname: "web-1", ReadOnly: true,
            CapabilityAdd: ["CAP_NET_ADMIN"], CapabilityDrop: ["CAP_CHOWN"], Ulimits: [new Ulimit("nofile", 1024, -1)],
            Hosts: ["10.0.0.5 db database"], Groups: ["2000"]);
        var resources = new ResourceRequirements(new ResourceAmounts(500_000_000, 64 << 20, 50), new ResourceAmounts(0, 16 << 20));

        var spec = TaskContainers.Specification(Task(container, resources), Image(Config(workdir: "/app", user: "app")), ["/layers/a"]);

        Assert.Equal("abcdefghijklmnopqrstuvwxy", spec.Id);
        Assert.Equal("/srv", spec.WorkingDir);
        Assert.Equal("app", spec.User);
        Assert.Equal("web-1", spec.Hostname);
        Assert.True(spec.ReadOnlyRootfs);
        Assert.Equal<string>(["CAP_NET_ADMIN"], spec.CapAdd);
        Assert.Equal<string>(["CAP_CHOWN"], spec.CapDrop);
        var rlimit = Assert.Single(spec.Rlimits);
        Assert.Equal(("nofile", 1024ul, ulong.MaxValue), (rlimit.Name, rlimit.Soft, rlimit.Hard));
        Assert.Equal<string>(["db:10.0.0.5", "database:10.0.0.5"], spec.ExtraHosts);
        Assert.Equal<uint>([2000u], spec.AdditionalGroups);
        Assert.Equal(64L << 20, spec.Resources.MemoryLimitBytes);
        Assert.Equal(16L << 20, spec.Resources.MemoryReservationBytes);
        Assert.Equal(500_000_000, spec.Resources.NanoCpus);
        Assert.Equal(50, spec.Resources.PidsLimit);
        Assert.Null(spec.Resources.CpuReservationNanoCpus);
    }

    [Fact]
    public void Without_A_Hostname_The_Container_Is_Named_After_The_Short_Task_Id()
    {
        var spec = TaskContainers.Specification(Task(new ContainerSpec("busybox", Command: ["true"])), Image(Config()), ["/l"]);

        Assert.Equal("abcdefghijkl", spec.Hostname);
        Assert.Equal("/", spec.WorkingDir);
        Assert.Contains("HOSTNAME=abcdefghijkl", spec.Env);
    }

    [Fact]
    public void A_Group_Name_Is_Looked_Up_In_The_Topmost_Layer_With_An_Etc_Group()
    {
        var root = Directory.CreateTempSubdirectory("tc-groups-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "low", "etc"));
            Directory.CreateDirectory(Path.Combine(root, "high", "etc"));
            File.WriteAllText(Path.Combine(root, "low", "etc", "group"), "staff:x:50:\n");
            File.WriteAllText(Path.Combine(root, "high", "etc", "group"), "root:x:0:\nstaff:x:60:\n");
            string[] layers = [Path.Combine(root, "low"), Path.Combine(root, "high")];

            Assert.Equal<uint>([60u, 7u], TaskContainers.Groups(["staff", "7"], layers));
            var missing = Assert.Throws<InvalidOperationException>(() => TaskContainers.Groups(["wheel"], layers));
            Assert.Contains("group 'wheel' is not in the image's /etc/group", missing.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Theory]
    [InlineData("", "", 15)]
    [InlineData("SIGINT", "", 2)]
    [InlineData("", "SIGQUIT", 3)]
    [InlineData("usr1", "SIGQUIT", 10)]
    [InlineData("9", "", 9)]
    [InlineData("SIGRTMIN+3", "", 37)]
    [InlineData("", "SIGRTMIN+3", 37)]
    [InlineData("rtmin", "", 34)]
    [InlineData("SIGRTMAX-1", "", 63)]
    [InlineData("RTMAX", "", 64)]
    public void The_Stop_Signal_Is_The_Tasks_Else_The_Images_Else_Sigterm(string task, string image, int expected) =>
        Assert.Equal(expected, TaskContainers.StopSignal(new ContainerSpec("busybox", StopSignal: task), Config(stopSignal: image)));

    [Theory]
    [InlineData("SIGNOPE")]
    [InlineData("SIGRTMIN+16")]
    [InlineData("SIGRTMAX-15")]
    [InlineData("SIGRTMIN+0")]
    [InlineData("SIGRTMIN+")]
    public void A_Bad_Stop_Signal_Is_Refused_With_The_Fix(string signal) =>
        Assert.Contains("use a name such as SIGTERM", Assert.Throws<InvalidOperationException>(
            () => TaskContainers.StopSignal(new ContainerSpec("busybox", StopSignal: signal), Config())).Message, StringComparison.Ordinal);

    [Fact]
    public void The_Health_Check_Is_The_Tasks_The_Images_Or_None()
    {
        var imageCheck = new ImageHealthcheck(["CMD", "true"], TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(2), TimeSpan.Zero, 4);
        var config = Config(health: imageCheck);

        Assert.Equal<string>(["CMD", "true"], TaskContainers.HealthCheckOf(new ContainerSpec("busybox"), config)!.Test);
        Assert.Null(TaskContainers.HealthCheckOf(new ContainerSpec("busybox", HealthCheck: new HealthCheck(["NONE"])), config));
        Assert.Null(TaskContainers.HealthCheckOf(new ContainerSpec("busybox"), Config()));
        var own = TaskContainers.HealthCheckOf(new ContainerSpec("busybox", HealthCheck: new HealthCheck(["CMD-SHELL", "test -f /ok"])), config)!;
        Assert.Equal<string>(["CMD-SHELL", "test -f /ok"], own.Test);
        var timings = TaskContainers.HealthCheckOf(new ContainerSpec("busybox", HealthCheck: new HealthCheck([], Interval: TimeSpan.FromSeconds(1))), config)!;
        Assert.Equal<string>(["CMD", "true"], timings.Test);
        Assert.Equal(TimeSpan.FromSeconds(1), timings.Interval);
        Assert.Equal(4, timings.Retries);
    }

    [Fact]
    public void An_Image_Config_Without_Volumes_Or_With_A_Null_One_Declares_None()
    {
        Assert.Empty(ImageConfig.Parse("{}"u8, "test").Volumes);
        Assert.Empty(ImageConfig.Parse("""{"config":{"Volumes":null}}"""u8, "test").Volumes);
        Assert.Equal<string>(["/a", "/b"], ImageConfig.Parse("""{"config":{"Volumes":{"/b":{},"/a":{}}}}"""u8, "test").Volumes);
    }

    [Theory]
    // Each image volume no mount covers becomes an anonymous volume (no source) at its cleaned path.
    [InlineData("/data", "", "volume::/data")]
    [InlineData("/data/,/logs/./", "", "volume::/data volume::/logs")]
    // A -v, --mount or service mount on the path (a bind, a named volume, a tmpfs; written as docker cleans it) covers it.
    [InlineData("/data,/logs", "bind:/srv:/data", "volume::/logs")]
    [InlineData("/data", "volume:named:/data/", "")]
    [InlineData("/data", "tmpfs::/data", "")]
    [InlineData("/a/../data", "volume:named:/data", "")]
    // A mount under or above the path does not: docker compares destinations only.
    [InlineData("/data", "volume:named:/data/sub", "volume::/data")]
    [InlineData("/data/sub", "volume:named:/data", "volume::/data/sub")]
    // The same path twice is one volume.
    [InlineData("/data,/data/", "", "volume::/data")]
    [InlineData("", "bind:/srv:/data", "")]
    public void Image_Volumes_Not_Covered_By_A_Mount_Get_An_Anonymous_Volume(string imageVolumes, string mounts, string expected)
    {
        var given = mounts.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(m => m.Split(':')).Select(p =>
            new MountSpec(Enum.Parse<MountType>(p[0], ignoreCase: true), p[1], p[2]));

        var added = TaskContainers.ImageVolumes(imageVolumes.Split(',', StringSplitOptions.RemoveEmptyEntries), [.. given]);

        Assert.Equal(expected, string.Join(' ', added.Select(m => $"{m.Type.ToString().ToLowerInvariant()}:{m.Source}:{m.Target}")));
    }
}
