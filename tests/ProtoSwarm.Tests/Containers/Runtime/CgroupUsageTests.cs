using ProtoSwarm.Containers.Runtime;
using ProtoSwarm.Containers.Runtime.Cgroups;

namespace ProtoSwarm.Tests.Containers.Runtime;

// Reading a container's usage from its cgroup files, against a recording fake: no root, no kernel.
public sealed class CgroupUsageTests
{
    private const string Memory = "/sys/fs/cgroup/memory/node/protoswarm/c1";
    private const string Cpu = "/sys/fs/cgroup/cpu,cpuacct/protoswarm/c1";
    private const string Pids = "/sys/fs/cgroup/pids/protoswarm/c1";
    private const string V2 = "/sys/fs/cgroup/node/protoswarm/c1";

    private static readonly CgroupPlacement V1Placement = new([Memory, Cpu, Pids]);

    private static CgroupV1Driver V1(RecordingSyscalls sys) => new(sys, [], "");

    private static CgroupV2Driver V2Driver(RecordingSyscalls sys) => new(sys, new MountInfo("/", "/sys/fs/cgroup", "cgroup2", ["rw"]), "0::/node\n");

    private static RecordingSyscalls V1Files(string limit = "268435456\n", string pidsMax = "100\n")
    {
        var sys = new RecordingSyscalls();
        sys.Files[Memory + "/memory.usage_in_bytes"] = "52428800\n";
        sys.Files[Memory + "/memory.stat"] = "cache 4096\ninactive_file 8192\ntotal_cache 20971520\ntotal_inactive_file 10485760\ntotal_active_file 1024\n";
        sys.Files[Memory + "/memory.limit_in_bytes"] = limit;
        sys.Files[Cpu + "/cpuacct.usage"] = "1234567890\n";
        sys.Files[Pids + "/pids.current"] = "3\n";
        sys.Files[Pids + "/pids.max"] = pidsMax;
        return sys;
    }

    [Fact]
    public void V1_Usage_Reads_Each_Controller_From_Its_Own_Hierarchy_Without_The_Inactive_Page_Cache()
    {
        var usage = V1(V1Files()).ReadUsage(V1Placement);

        // 50 MiB used, 10 MiB of it inactive file cache (the hierarchy's total_, as docker takes on v1).
        Assert.Equal(new ContainerUsage(1_234_567_890, 40 << 20, 256 << 20, 3, 100), usage);
    }

    [Fact]
    public void V1_Unlimited_Memory_And_Pids_Read_As_No_Limit()
    {
        var usage = V1(V1Files(limit: "9223372036854771712\n", pidsMax: "max\n")).ReadUsage(V1Placement);

        Assert.Null(usage!.MemoryLimitBytes);
        Assert.Null(usage.PidsLimit);
    }

    [Fact]
    public void An_Inactive_Cache_Larger_Than_The_Usage_Is_Not_Subtracted()
    {
        var sys = V1Files();
        sys.Files[Memory + "/memory.stat"] = "total_inactive_file 99999999999\n";

        Assert.Equal(50 << 20, V1(sys).ReadUsage(V1Placement)!.MemoryBytes);
    }

    [Fact]
    public void A_Removed_Cgroup_Has_No_Usage()
    {
        Assert.Null(V1(new RecordingSyscalls()).ReadUsage(V1Placement));
        Assert.Null(V2Driver(new RecordingSyscalls()).ReadUsage(new CgroupPlacement([V2])));
        Assert.Null(V2Driver(new RecordingSyscalls()).ReadUsage(new CgroupPlacement([])));
    }

    [Fact]
    public void V2_Usage_Reads_Cpu_Stat_Memory_Current_And_Pids()
    {
        var sys = new RecordingSyscalls();
        sys.Files[V2 + "/cpu.stat"] = "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n";
        sys.Files[V2 + "/memory.current"] = "73400320\n";
        sys.Files[V2 + "/memory.stat"] = "anon 40000000\nfile 30000000\nactive_file 100\ninactive_file 20971520\n";
        sys.Files[V2 + "/memory.max"] = "max\n";
        sys.Files[V2 + "/pids.current"] = "7\n";
        sys.Files[V2 + "/pids.max"] = "50\n";

        var usage = V2Driver(sys).ReadUsage(new CgroupPlacement([V2]));

        Assert.Equal(new ContainerUsage(2_500_000_000, 50 << 20, null, 7, 50), usage);
        Assert.DoesNotContain(sys.Calls, c => c.StartsWith("write", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("MemTotal:       24683520 kB\nMemFree:        22735872 kB\n", 24683520L * 1024)]
    [InlineData("MemFree: 1 kB\n", 0L)]
    public void Host_Memory_Is_Mem_Total_In_Bytes(string meminfo, long expected)
    {
        Assert.Equal(expected, HostMemory.TotalBytes(meminfo));
    }
}
