using ProtoSwarm.Containers.Runtime.Cgroups;

namespace ProtoSwarm.Tests.Containers.Runtime;

// The driver probed once per process: kept while the node host stays in its cgroups, probed again when it moves or is told to.
public sealed class CgroupDriverCacheTests
{
    [Fact]
    public void The_Driver_Is_Probed_Once_While_The_Process_Stays_In_Its_Cgroups()
    {
        var sys = RuntimeLogicTests.V1Machine();
        var cache = new CgroupDriverCache();

        var first = cache.For(sys);
        sys.Files["/proc/self/mountinfo"] = "not read again";

        Assert.Same(first, cache.For(sys));
    }

    [Fact]
    public void A_Process_Moved_To_Another_Cgroup_Gets_A_Driver_For_Its_New_Place()
    {
        var sys = RuntimeLogicTests.V1Machine();
        var cache = new CgroupDriverCache();
        var first = cache.For(sys);

        sys.Files["/proc/self/cgroup"] = "8:pids:/\n4:memory:/node/moved\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n0::/\n";
        var moved = cache.For(sys);

        Assert.NotSame(first, moved);
        Assert.Contains("/sys/fs/cgroup/memory/node/moved/protoswarm/c1", moved.Create("c1", RuntimeLogicTests.Spec().Resources).Directories);
    }

    [Fact]
    public void A_Forgotten_Driver_Is_Probed_Again_And_Another_Syscalls_Gets_Its_Own()
    {
        var sys = RuntimeLogicTests.V1Machine();
        var cache = new CgroupDriverCache();
        var first = cache.For(sys);

        cache.Forget(first);
        var again = cache.For(sys);
        var other = RuntimeLogicTests.V1Machine();

        Assert.NotSame(first, again);
        Assert.NotSame(again, cache.For(other));
    }

    [Fact]
    public void A_Second_Container_Reads_Each_Cpuset_File_Of_The_Parent_Once_And_Gets_Its_Values()
    {
        var sys = RuntimeLogicTests.V1Machine();
        var driver = CgroupDrivers.Probe(sys);
        driver.Create("c1", RuntimeLogicTests.Spec().Resources);
        sys.Calls.Clear();

        driver.Create("c2", RuntimeLogicTests.Spec().Resources);

        var writes = sys.Calls.Where(c => c.Contains("cpuset.", StringComparison.Ordinal)).ToList();
        Assert.Equal(
        [
            "write /sys/fs/cgroup/cpuset/protoswarm/c2/cpuset.cpus = 0-1",
            "write /sys/fs/cgroup/cpuset/protoswarm/c2/cpuset.mems = 0",
        ], writes);
    }
}
