using System.Text;
using System.Text.Json;
using ProtoSwarm.ContainerInit;
using ProtoSwarm.Containers.Runtime;
using ProtoSwarm.Containers.Runtime.Cgroups;

namespace ProtoSwarm.Tests.Containers.Runtime;

// protoswarm-init's stage 2 reads its config with a hand-written reader instead of the serializer;
// what it reads must be exactly what the serializer reads of what the node host writes.
public sealed class InitConfigReaderTests
{
    private static InitConfig Everything() => new()
    {
        Id = "c1",
        Args = ["sh", "-c", "echo \"quoted\" \\ back\\slash and \u00e9\u4e2d"],
        Env = ["PATH=/bin", "A=b=c", ""],
        WorkingDir = "/srv/app",
        RootfsMount = "/state/c1/rootfs",
        LowerDirs = ["/images/l1", "/images/l2"],
        UpperDir = "/state/c1/upper",
        WorkDir = "/state/c1/work",
        ReadOnlyRoot = true,
        NetworkNamespace = "/run/netns/t1",
        Hostname = "web-1",
        Hosts = "127.0.0.1 localhost\n10.0.0.2 web-1\n",
        ResolvConf = "nameserver 127.0.0.11\noptions ndots:0\n",
        Mounts =
        [
            new InitMount { Type = "bind", Source = "/var/lib/v/_data", Target = "/data", ReadOnly = true, Propagation = "rslave", NonRecursive = true, RecursiveReadOnly = true },
            new InitMount { Type = "tmpfs", Target = "/tmp", Data = "size=65536k,mode=1777" },
        ],
        CgroupProcs = ["/sys/fs/cgroup/memory/protoswarm/c1/cgroup.procs", "/sys/fs/cgroup/pids/protoswarm/c1/cgroup.procs"],
        RootPropagation = "rslave",
        CgroupMounts =
        [
            new InitCgroupMount { Name = "cpu,cpuacct", Type = "cgroup", Options = "cpu,cpuacct", Links = ["cpu", "cpuacct"] },
            new InitCgroupMount { Name = "unified", Type = "cgroup2" },
        ],
        User = "1000:1000",
        AdditionalGids = [10, 4_000_000_000],
        Capabilities = 0xa80425fbUL | (1UL << 63),
        NoNewPrivileges = false,
        Seccomp = [0x20, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0xff, 0x15],
        ProcessLabel = "system_u:system_r:container_t:s0:c1,c2",
        MountLabel = "system_u:object_r:container_file_t:s0:c1,c2",
        Rlimits = [new InitRlimit { Resource = 7, Soft = 1024, Hard = ulong.MaxValue }],
        Sysctls = [new InitSysctl { Key = "net.core.somaxconn", Value = "1024" }],
        Init = true,
        Tty = true,
        StdinPath = "/state/c1/stdin",
        MaskedPaths = ["/proc/kcore", "/proc/keys"],
        ReadonlyPaths = ["/proc/sys"],
        StateDir = "/state/c1",
        LogPath = "/state/c1/c1-json.log",
        LogMaxBytes = 123_456_789_012,
        LogMaxFiles = 5,
    };

    private static string Json(InitConfig config) => JsonSerializer.Serialize(config, InitConfigJson.Default.InitConfig);

    private static InitConfig BySerializer(string json) => JsonSerializer.Deserialize(json, InitConfigJson.Default.InitConfig)!;

    private static InitConfig ByReader(string json) => InitConfigReader.Read(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void The_Test_Config_Sets_Every_Field_Away_From_Its_Default()
    {
        // So a field added to InitConfig and not read would show up in the next test.
        var everything = Everything();
        var defaults = new InitConfig();
        foreach (var property in typeof(InitConfig).GetProperties())
        {
            Assert.NotEqual(
                JsonSerializer.Serialize(property.GetValue(defaults)),
                JsonSerializer.Serialize(property.GetValue(everything)));
        }
    }

    [Fact]
    public void Reads_Every_Field_As_The_Serializer_Does()
    {
        var json = Json(Everything());

        Assert.Equal(Json(BySerializer(json)), Json(ByReader(json)));
    }

    [Fact]
    public void Missing_Fields_Keep_Their_Defaults_And_Unknown_Ones_Are_Skipped()
    {
        const string json = """{"future":{"a":[1,{"b":null}]},"id":"c9","later":[true],"args":["true"]}""";

        var read = ByReader(json);

        Assert.Equal(Json(BySerializer(json)), Json(read));
        Assert.True(read.NoNewPrivileges);
        Assert.Equal("/", read.WorkingDir);
        Assert.Equal(2, read.LogMaxFiles);
    }

    [Fact]
    public async Task Reads_The_Config_The_Node_Host_Writes_As_The_Serializer_Does()
    {
        var sys = RuntimeLogicTests.V1Machine();
        sys.InitSays.Add("started 777");
        await using var container = await LinuxContainer.StartAsync(RuntimeLogicTests.Spec(), RuntimeLogicTests.Options, sys,
            CgroupDrivers.Probe(sys), TimeProvider.System, CancellationToken.None);
        var written = sys.Files["/state/c1/config.json"];

        Assert.Equal(Json(BySerializer(written)), Json(ByReader(written)));
        sys.Say("exit 0");
        sys.InitSide!.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        await container.WaitAsync();
    }

    [Theory]
    [InlineData("""{"id":"c1","args":["a" """)]
    [InlineData("""{"id":1}""")]
    [InlineData("""{"args":"not a list"}""")]
    [InlineData("""{"capabilities":-1}""")]
    [InlineData("[]")]
    public void A_Malformed_Config_Is_Refused(string json)
    {
        var e = Record.Exception(() => ByReader(json));

        Assert.True(e is JsonException or InvalidOperationException or FormatException, e?.GetType().Name);
    }
}
