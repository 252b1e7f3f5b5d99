using ProtoSwarm.Hosting.Runtime;

namespace ProtoSwarm.Tests.Hosting;

public sealed class StandaloneContainersTests
{
    private static readonly (string Id, string Name)[] Names =
    [
        ("abc123def456ghi789jkl0mno", "probe"),
        ("abd999999999999999999999a", "web.1.abd999999999999999999999a"),
    ];

    [Theory]
    [InlineData("abc123def456ghi789jkl0mno", "abc123def456ghi789jkl0mno")]
    [InlineData("probe", "abc123def456ghi789jkl0mno")]
    [InlineData("/probe", "abc123def456ghi789jkl0mno")]
    [InlineData("abc", "abc123def456ghi789jkl0mno")]
    [InlineData("web.1.abd999999999999999999999a", "abd999999999999999999999a")]
    public void A_Container_Is_Found_By_Id_Name_Or_Unique_Prefix_As_Docker_Finds_It(string reference, string id)
    {
        Assert.Equal((id, null), StandaloneContainers.Resolve(reference, Names));
    }

    [Theory]
    [InlineData("ab", "multiple IDs found with provided prefix: ab")]
    [InlineData("zzz", "No such container: zzz")]
    public void An_Ambiguous_Or_Unknown_Reference_Gets_Dockers_Error(string reference, string error)
    {
        Assert.Equal((null, error), StandaloneContainers.Resolve(reference, Names));
    }

    [Fact]
    public void Publish_All_Adds_Each_Exposed_Port_On_A_Free_Node_Port_Unless_A_P_Publishes_It()
    {
        var run = new ProtoSwarm.Contracts.RunContainer("r", "img", [], null, [], "", "", "", false, false, "") { Publish = ["8080:80"] };
        var (given, _) = StandaloneContainers.Ports(run);

        var all = StandaloneContainers.PublishAll(given, ["80/tcp", "53/udp", "9000"]);

        Assert.Equal(
            [(80, 8080, ProtoSwarm.Contracts.PortProtocol.Tcp), (53, 0, ProtoSwarm.Contracts.PortProtocol.Udp), (9000, 0, ProtoSwarm.Contracts.PortProtocol.Tcp)],
            all.Select(p => (p.TargetPort, p.PublishedPort, p.Protocol)));
        Assert.All(all, p => Assert.Equal(ProtoSwarm.Contracts.PublishMode.Host, p.PublishMode));
    }

    [Theory]
    [InlineData(-1, 0, 0, "--cpus")]
    [InlineData(0, -5, 0, "--memory")]
    [InlineData(0, 64 << 20, 128 << 20, "Minimum memory limit can not be less than memory reservation limit")]
    public void Resources_Another_Client_Sent_Are_Checked_Again(long nanoCpus, long memory, long reservation, string expected)
    {
        var run = new ProtoSwarm.Contracts.RunContainer("r", "img", [], null, [], "", "", "", false, false, "")
        {
            NanoCpus = nanoCpus,
            MemoryBytes = memory,
            MemoryReservationBytes = reservation,
        };

        Assert.Contains(expected, StandaloneContainers.ResourcesError(run), StringComparison.Ordinal);
    }

    private static ProtoSwarm.Contracts.RunContainer Run() => new("r", "img", [], null, [], "", "", "", false, false, "");

    [Fact]
    public void A_Runs_Confinement_Lands_Where_A_Services_Flags_Put_It_In_The_Container_Spec()
    {
        var health = new ProtoSwarm.Contracts.HealthCheck(["CMD-SHELL", "true"], TimeSpan.FromSeconds(1));
        var run = Run() with
        {
            CapAdd = ["CAP_NET_ADMIN"], CapDrop = ["CAP_CHOWN"], ReadOnly = true, Init = true, StopSignal = "SIGINT", StopTimeout = 3, HealthCheck = health,
            Hosts = ["10.0.0.5 db"], Dns = new ProtoSwarm.Contracts.DnsConfig(["10.0.0.53"]), Ulimits = [new ProtoSwarm.Contracts.Ulimit("nofile", 64, 64)], GroupAdd = ["2000"],
            Sysctls = ProtoSwarm.Contracts.NamespacedSysctls.None.Add("net.core.somaxconn", "1024"),
        };

        var spec = StandaloneContainers.Confined(new ProtoSwarm.Contracts.ContainerSpec("img"), run);

        Assert.Equal<string>(["CAP_NET_ADMIN"], spec.CapabilityAdd);
        Assert.Equal<string>(["CAP_CHOWN"], spec.CapabilityDrop);
        Assert.True(spec.ReadOnly && spec.Init == true);
        Assert.Equal(("SIGINT", (TimeSpan?)TimeSpan.FromSeconds(3)), (spec.StopSignal, spec.StopGracePeriod));
        Assert.Same(health, spec.HealthCheck);
        Assert.Equal<string>(["10.0.0.5 db"], spec.Hosts);
        Assert.Equal<string>(["10.0.0.53"], spec.Dns.Nameservers);
        Assert.Equal("1024", spec.Sysctls["net.core.somaxconn"]);
        Assert.Equal(64, Assert.Single(spec.Ulimits).Soft);
        Assert.Equal<string>(["2000"], spec.Groups);
        Assert.Null(StandaloneContainers.ConfinementError(run));
        // Left out: docker's defaults (the stop grace period is docker's 10 s, the init the node's).
        var plain = StandaloneContainers.Confined(new ProtoSwarm.Contracts.ContainerSpec("img"), Run());
        Assert.Equal((null, null, false), (plain.StopGracePeriod, plain.Init, plain.ReadOnly));
    }

    [Fact]
    public void Tmpfs_And_Shm_Size_Are_Tmpfs_Mounts_After_The_Others_And_A_Mount_Of_Ones_Own_On_Dev_Shm_Wins()
    {
        var run = Run() with { Volumes = ["/data"], Tmpfs = ["/run:size=1m", "/cache"], ShmSize = 128L << 20 };

        var (mounts, error) = StandaloneContainers.Mounts(run);
        var (own, _) = StandaloneContainers.Mounts(run with { Tmpfs = ["/dev/shm:size=1m"] });
        var (twice, twiceError) = StandaloneContainers.Mounts(run with { Tmpfs = ["/data"] });

        Assert.Null(error);
        Assert.Equal(["/data", "/run", "/cache", "/dev/shm"], mounts.Select(m => m.Target));
        Assert.Equal((1L << 20, 128L << 20), (mounts[1].TmpfsSizeBytes, mounts[3].TmpfsSizeBytes));
        Assert.Equal(0x3FF, mounts[3].TmpfsMode);
        Assert.Equal(1L << 20, Assert.Single(own, m => m.Target == "/dev/shm").TmpfsSizeBytes);
        Assert.Equal("Duplicate mount point: /data", twiceError);
        Assert.Empty(twice);
    }

    [Theory]
    [InlineData("stop-timeout", "--stop-timeout")]
    [InlineData("pids", "--pids-limit")]
    [InlineData("shm", "--shm-size")]
    [InlineData("signal", "Invalid signal: SIGNOPE")]
    [InlineData("expose", "invalid range format for --expose")]
    [InlineData("sysctl", "kernel.panic")]
    [InlineData("health", "retries is negative")]
    [InlineData("log", "syslog")]
    [InlineData("cap", "capabilit")]
    public void Confinement_Another_Client_Sent_Is_Checked_Again(string what, string expected)
    {
        var run = what switch
        {
            "stop-timeout" => Run() with { StopTimeout = -1 },
            "pids" => Run() with { PidsLimit = -1 },
            "shm" => Run() with { ShmSize = -1 },
            "signal" => Run() with { StopSignal = "SIGNOPE" },
            "expose" => Run() with { Expose = ["http"] },
            "sysctl" => Run() with { Sysctls = ProtoSwarm.Contracts.NamespacedSysctls.None.Add("kernel.panic", "1") },
            "health" => Run() with { HealthCheck = new ProtoSwarm.Contracts.HealthCheck(["CMD-SHELL", "true"], Retries: -1) },
            "log" => Run() with { LogDriver = new ProtoSwarm.Contracts.LogDriver("syslog") },
            _ => Run() with { CapAdd = ["net admin"] },
        };

        Assert.Contains(expected, StandaloneContainers.ConfinementError(run), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void A_Container_On_The_Bridge_Keeps_It_Named_First_In_Its_Record_When_It_Joins_An_Overlay()
    {
        var overlay = new ProtoSwarm.Contracts.NetworkAttachment("net1aaaaaaaaaaaaaaaaaaaaa", ["db"]);
        var second = new ProtoSwarm.Contracts.NetworkAttachment("net2bbbbbbbbbbbbbbbbbbbbb");

        var first = StandaloneContainers.Recorded([], overlay);

        Assert.Equal(["bridge", "net1aaaaaaaaaaaaaaaaaaaaa"], first.Select(n => n.Target));
        Assert.Equal(["bridge", "net1aaaaaaaaaaaaaaaaaaaaa", "net2bbbbbbbbbbbbbbbbbbbbb"], StandaloneContainers.Recorded(first, second).Select(n => n.Target));
        // One run on an overlay (--network) is not on the bridge: its record gains the network alone.
        Assert.Equal(["net2bbbbbbbbbbbbbbbbbbbbb", "net1aaaaaaaaaaaaaaaaaaaaa"], StandaloneContainers.Recorded([second], overlay).Select(n => n.Target));
        Assert.DoesNotContain(ProtoSwarm.Contracts.PredefinedNetworks.Networks(StandaloneContainers.Recorded([], overlay)), n => n.Target == "bridge"); // nothing asked of the managers for it
    }

    [Theory]
    [InlineData("net1aaaaaaaaaaaaaaaaaaaaa", "net1aaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("debugnet", "net1aaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("net2", "net2bbbbbbbbbbbbbbbbbbbbb")]
    [InlineData("net", null)]
    [InlineData("othernet", null)]
    [InlineData("", null)]
    public void Network_Disconnect_Finds_The_Network_Of_The_Containers_Record_By_Id_Name_Or_Unique_Prefix(string reference, string? expected)
    {
        string[] ids = ["net1aaaaaaaaaaaaaaaaaaaaa", "net2bbbbbbbbbbbbbbbbbbbbb"];

        Assert.Equal(expected, StandaloneContainers.NetworkIdOf(ids, reference, id => id.StartsWith("net1", StringComparison.Ordinal) ? "debugnet" : null));
    }
}
