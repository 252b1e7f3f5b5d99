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

    [Fact]
    public void V1_Block_Io_Sums_Reads_And_Writes_Of_Every_Device_From_Blkio_Throttle_Io_Service_Bytes()
    {
        const string Blkio = "/sys/fs/cgroup/blkio/protoswarm/c1";
        var sys = V1Files();
        sys.Files[Blkio + "/blkio.throttle.io_service_bytes"] =
            "254:0 Read 4096\n254:0 Write 1048576\n254:0 Sync 1052672\n254:0 Async 0\n254:0 Discard 0\n254:0 Total 1052672\n" +
            "8:0 Read 8192\n8:0 Write 0\n8:0 Total 8192\nTotal 1060864\n";

        var usage = V1(sys).ReadUsage(new CgroupPlacement([Memory, Cpu, Pids, Blkio]));

        Assert.Equal((12288, 1048576), (usage!.BlockReadBytes, usage.BlockWriteBytes));
        Assert.Equal((0, 0), (V1(V1Files()).ReadUsage(V1Placement)!.BlockReadBytes, V1(V1Files()).ReadUsage(V1Placement)!.BlockWriteBytes));
    }

    [Fact]
    public void V2_Block_Io_Sums_Rbytes_And_Wbytes_Of_Io_Stat()
    {
        var sys = new RecordingSyscalls();
        sys.Files[V2 + "/memory.current"] = "1048576\n";
        sys.Files[V2 + "/io.stat"] = "254:0 rbytes=1200 wbytes=648 rios=3 wios=2 dbytes=0 dios=0\n8:16 rbytes=34 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n";

        var usage = V2Driver(sys).ReadUsage(new CgroupPlacement([V2]));

        Assert.Equal((1234, 648), (usage!.BlockReadBytes, usage.BlockWriteBytes));
    }

    [Fact]
    public void Net_Io_Sums_Every_Interface_But_Loopback_From_Proc_Net_Dev()
    {
        const string NetDev =
            "Inter-|   Receive                                                |  Transmit\n" +
            " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n" +
            "    lo:  999999      10    0    0    0     0          0         0   999999      10    0    0    0     0       0          0\n" +
            "  eth0:    1200      12    0    0    0     0          0         0      600       6    0    0    0     0       0          0\n" +
            "  eth1:      34       1    0    0    0     0          0         0       48       1    0    0    0     0       0          0\n";

        Assert.Equal((1234L, 648L), NetworkDeviceCounters.Sum(NetDev));
        Assert.Equal((0L, 0L), NetworkDeviceCounters.Sum(""));
        Assert.Null(NetworkDeviceCounters.Read(0));
    }
}
