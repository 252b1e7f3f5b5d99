using ProtoSwarm.Containers.Runtime;
using ProtoSwarm.Containers.Runtime.Cgroups;

namespace ProtoSwarm.Tests.Containers.Runtime;

// A removed container's memory cgroup is emptied before its rmdir, so page cache charged to it does not
// keep it "dying"; the reclaim is bounded and never fails a removal. Against the recording fake.
public sealed class CgroupRemovalTests
{
    private const string V1Memory = "/sys/fs/cgroup/memory/node/abc/protoswarm/c1";
    private const string V2Dir = "/sys/fs/cgroup/node/protoswarm/c1";

    private static (RecordingSyscalls Sys, ICgroupDriver Driver, CgroupPlacement Placement) V1(long usage)
    {
        var sys = RuntimeLogicTests.V1Machine();
        var driver = CgroupDrivers.Probe(sys);
        var placement = driver.Create("c1", new ContainerResources());
        sys.Files[V1Memory + "/memory.force_empty"] = "";
        sys.Files[V1Memory + "/memory.usage_in_bytes"] = usage + "\n";
        sys.Calls.Clear();
        return (sys, driver, placement);
    }

    private static (RecordingSyscalls Sys, ICgroupDriver Driver, CgroupPlacement Placement) V2(long usage)
    {
        var sys = new RecordingSyscalls();
        sys.Files["/sys/fs/cgroup/node/protoswarm/cgroup.controllers"] = "memory pids\n";
        var driver = new CgroupV2Driver(sys, new MountInfo("/", "/sys/fs/cgroup", "cgroup2", ["rw"]), "0::/node\n");
        var placement = driver.Create("c1", new ContainerResources());
        sys.Files[V2Dir + "/memory.reclaim"] = "";
        sys.Files[V2Dir + "/memory.current"] = usage + "\n";
        sys.Calls.Clear();
        return (sys, driver, placement);
    }

    [Fact]
    public void V1_Removal_Empties_The_Memory_Cgroup_Before_Its_Rmdir()
    {
        var (sys, driver, placement) = V1(20480);

        driver.Remove(placement);

        var forceEmpty = sys.Calls.IndexOf($"write {V1Memory}/memory.force_empty = 0");
        Assert.True(forceEmpty >= 0, string.Join("\n", sys.Calls));
        Assert.True(forceEmpty < sys.Calls.IndexOf("rmdir " + V1Memory));
        Assert.Single(sys.Calls, c => c.Contains("force_empty", StringComparison.Ordinal));
        Assert.DoesNotContain(V1Memory, sys.Directories);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(CgroupRemoval.ReclaimLimitBytes + 4096)]
    public void V1_Removal_Leaves_An_Empty_Or_A_Large_Memory_Cgroup_Unreclaimed(long usage)
    {
        var (sys, driver, placement) = V1(usage);

        driver.Remove(placement);

        Assert.DoesNotContain(sys.Calls, c => c.Contains("force_empty", StringComparison.Ordinal));
        Assert.Contains("rmdir " + V1Memory, sys.Calls);
    }

    [Fact]
    public void A_Refused_Reclaim_Does_Not_Keep_The_Cgroup_From_Being_Removed()
    {
        var (sys, driver, placement) = V1(4096);
        sys.FailingWrites.Add(V1Memory + "/memory.force_empty");

        driver.Remove(placement);

        Assert.Contains($"write {V1Memory}/memory.force_empty = 0", sys.Calls);
        Assert.Contains("rmdir " + V1Memory, sys.Calls);
        Assert.DoesNotContain(sys.Directories, d => d.EndsWith("/protoswarm/c1", StringComparison.Ordinal));
    }

    [Fact]
    public void A_Kernel_Without_The_Reclaim_File_Only_Removes()
    {
        var (sys, driver, placement) = V1(4096);
        sys.Files.Remove(V1Memory + "/memory.force_empty");

        driver.Remove(placement);

        Assert.DoesNotContain(sys.Calls, c => c.StartsWith("write", StringComparison.Ordinal));
        Assert.Contains("rmdir " + V1Memory, sys.Calls);
    }

    [Fact]
    public void V2_Removal_Asks_Memory_Reclaim_For_The_Usage_Before_Its_Rmdir()
    {
        var (sys, driver, placement) = V2(16384);

        driver.Remove(placement);

        Assert.Equal([$"write {V2Dir}/memory.reclaim = 16384", "rmdir " + V2Dir], sys.Calls);
    }

    [Fact]
    public void V2_Reclaim_That_Falls_Short_Still_Removes_The_Cgroup()
    {
        var (sys, driver, placement) = V2(16384);
        sys.FailingWrites.Add(V2Dir + "/memory.reclaim");

        driver.Remove(placement);

        Assert.Equal([$"write {V2Dir}/memory.reclaim = 16384", "rmdir " + V2Dir], sys.Calls);
    }

    [Fact]
    public async Task Remove_Empties_And_Removes_The_Cgroups_Before_It_Deletes_The_Writable_Layer()
    {
        var sys = RuntimeLogicTests.V1Machine();
        sys.InitSays.Add("started 777");
        var container = await LinuxContainer.StartAsync(RuntimeLogicTests.Spec(), RuntimeLogicTests.Options, sys,
            CgroupDrivers.Probe(sys), TimeProvider.System, default);
        sys.Files[V1Memory + "/memory.force_empty"] = "";
        sys.Files[V1Memory + "/memory.usage_in_bytes"] = "8192\n";
        sys.Say("exit 0");
        sys.InitSide!.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        await container.WaitAsync().WaitAsync(TimeSpan.FromSeconds(5));

        await container.RemoveAsync();

        var calls = sys.CallsSnapshot().Where(c => !c.StartsWith("reap", StringComparison.Ordinal)).ToList();
        int At(string call) => calls.IndexOf(call) is var i and >= 0 ? i : throw new InvalidOperationException($"no \"{call}\" in\n{string.Join("\n", calls)}");
        Assert.True(At($"write {V1Memory}/memory.force_empty = 0") < At("rmdir " + V1Memory));
        Assert.True(At("rmdir " + V1Memory) < At("rm -r /state/c1"));
        Assert.Equal("rm -r /state/c1", calls[^1]);
    }
}
