using ProtoSwarm.ContainerInit;
using ProtoSwarm.Containers.Runtime;
using ProtoSwarm.Containers.Runtime.Cgroups;

namespace ProtoSwarm.Tests.Containers.Runtime;

// The plan of what a container sees at /sys/fs/cgroup, from the host's mounts and the node host's cgroups: pure.
public sealed class CgroupViewTests
{
    // This machine's layout: every v1 controller on its own, name=systemd, and cgroup2 at unified.
    private const string Separate =
        "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n" +
        "32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n" +
        "33 30 0:30 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n" +
        "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n" +
        "35 30 0:32 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n" +
        "38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n" +
        "39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n" +
        "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
    private const string SeparateSelf = "9:name=systemd:/\n8:pids:/\n5:devices:/\n4:memory:/node\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n0::/\n";

    // Debian's and docker's usual v1 layout: cpu and cpuacct joint, net_cls and net_prio joint, mounted under other names.
    private const string Joint =
        "31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n" +
        "34 30 0:31 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n" +
        "36 30 0:33 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n";
    private const string JointSelf = "6:pids:/system.slice/protoswarmd.service\n4:memory:/system.slice/protoswarmd.service\n2:cpu,cpuacct:/system.slice/protoswarmd.service\n";

    private static InitCgroupMount[] Plan(string mountinfo, string self, params string[] directories) =>
        CgroupView.Plan(MountInfo.Parse(mountinfo), self, directories);

    private static string[] Described(IEnumerable<InitCgroupMount> mounts) =>
        [.. mounts.Select(m => $"{m.Type} '{m.Name}' '{m.Options}' [{string.Join(' ', m.Links)}]")];

    [Fact]
    public void Each_V1_Hierarchy_The_Container_Is_In_Is_Mounted_By_Its_Controllers_And_Nothing_Else()
    {
        var view = Plan(Separate, SeparateSelf,
            "/sys/fs/cgroup/memory/node/protoswarm/c1", "/sys/fs/cgroup/cpu/protoswarm/c1", "/sys/fs/cgroup/cpuacct/protoswarm/c1",
            "/sys/fs/cgroup/pids/protoswarm/c1", "/sys/fs/cgroup/cpuset/protoswarm/c1", "/sys/fs/cgroup/devices/protoswarm/c1");

        // Not systemd nor the unified hierarchy: the container was placed in neither.
        Assert.Equal(
            ["cgroup 'memory' 'memory' []", "cgroup 'cpu' 'cpu' []", "cgroup 'cpuacct' 'cpuacct' []",
             "cgroup 'pids' 'pids' []", "cgroup 'cpuset' 'cpuset' []", "cgroup 'devices' 'devices' []"],
            Described(view));
    }

    [Fact]
    public void A_Joint_Hierarchy_Is_One_Mount_Asked_For_With_All_Its_Controllers_And_A_Link_For_Each()
    {
        // The v1 driver puts both "cpu" and "cpuacct" in the same directory there: one placement directory, one mount.
        var view = Plan(Joint, JointSelf,
            "/sys/fs/cgroup/memory/system.slice/protoswarmd.service/protoswarm/c1",
            "/sys/fs/cgroup/cpu,cpuacct/system.slice/protoswarmd.service/protoswarm/c1",
            "/sys/fs/cgroup/pids/system.slice/protoswarmd.service/protoswarm/c1");

        Assert.Equal(
            ["cgroup 'memory' 'memory' []", "cgroup 'cpu,cpuacct' 'cpu,cpuacct' [cpu cpuacct]", "cgroup 'pids' 'pids' []"],
            Described(view));
    }

    [Fact]
    public void A_Named_Hierarchy_Is_Asked_For_By_Its_Name_And_Shown_Without_The_Prefix()
    {
        var view = Plan(Separate, SeparateSelf, "/sys/fs/cgroup/systemd/protoswarm/c1");

        Assert.Equal(["cgroup 'systemd' 'name=systemd' []"], Described(view));
    }

    [Fact]
    public void A_Cgroup2_Directory_Beside_V1_Ones_Is_The_Unified_Directory()
    {
        var view = Plan(Separate, SeparateSelf, "/sys/fs/cgroup/memory/node/protoswarm/c1", "/sys/fs/cgroup/unified/protoswarm/c1");

        Assert.Equal(["cgroup 'memory' 'memory' []", "cgroup2 'unified' '' []"], Described(view));
    }

    [Fact]
    public void On_A_Host_With_Only_Cgroup2_It_Is_Mounted_On_Sys_Fs_Cgroup_Itself()
    {
        var view = Plan("35 25 0:31 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n", "0::/system.slice/protoswarmd.service\n",
            "/sys/fs/cgroup/system.slice/protoswarmd.service/protoswarm/c1");

        Assert.Equal(["cgroup2 '' '' []"], Described(view));
    }

    [Fact]
    public void A_Directory_Under_No_Cgroup_Mount_Or_An_Unnamed_Hierarchy_Is_Left_Out()
    {
        // A hierarchy mounted that /proc/self/cgroup does not list could only be guessed at; the kernel refuses a wrong guess.
        var view = Plan(Separate, "4:memory:/node\n", "/tmp/elsewhere/c1", "/sys/fs/cgroup/cpu/protoswarm/c1", "/sys/fs/cgroup/memory/node/protoswarm/c1");

        Assert.Equal(["cgroup 'memory' 'memory' []"], Described(view));
        Assert.Empty(Plan(Separate, SeparateSelf));
    }

    [Theory]
    [InlineData("/sys/fs/cgroup", true)]
    [InlineData("/sys/fs/cgroup/", true)]
    [InlineData("/sys/fs/cgroup/memory", true)]
    [InlineData("/sys", true)]
    [InlineData("/sys/fs", true)]
    [InlineData("/sys/fs/cgroupx", false)]
    [InlineData("/sys/kernel", false)]
    [InlineData("/data", false)]
    public void A_Mount_Of_The_Tasks_Own_At_Above_Or_In_Sys_Fs_Cgroup_Takes_The_Place_Of_The_View(string target, bool replaces)
    {
        var view = Plan(Joint, JointSelf, "/sys/fs/cgroup/memory/system.slice/protoswarmd.service/protoswarm/c1");
        var spec = RuntimeLogicTests.Spec() with { Mounts = [ContainerMount.Tmpfs(target)] };

        var config = InitConfigBuilder.Build(spec, new ContainerPaths("/state/c1"), new CgroupPlacement([]), "", cgroupView: view);

        Assert.Equal(replaces ? [] : ["cgroup 'memory' 'memory' []"], Described(config.CgroupMounts));
    }

    [Fact]
    public void The_Launcher_Hands_Init_The_Drivers_View_Of_The_Containers_Cgroups()
    {
        var sys = RuntimeLogicTests.V1Machine();
        var driver = CgroupDrivers.Probe(sys);
        var placement = driver.Create("c1", RuntimeLogicTests.Spec().Resources);

        // RuntimeLogicTests' machine: every controller on its own, the node host in /node/abc of the memory hierarchy;
        // its /proc/self/cgroup lists no devices hierarchy, so that one cannot be named and is left out.
        Assert.Equal(
            ["cgroup 'memory' 'memory' []", "cgroup 'cpu' 'cpu' []", "cgroup 'cpuacct' 'cpuacct' []",
             "cgroup 'pids' 'pids' []", "cgroup 'cpuset' 'cpuset' []"],
            Described(driver.View(placement)));
    }
}
