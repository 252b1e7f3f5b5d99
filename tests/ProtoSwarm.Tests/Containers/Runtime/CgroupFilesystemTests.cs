using ProtoSwarm.Containers.Runtime;

namespace ProtoSwarm.Tests.Containers.Runtime;

// /sys/fs/cgroup inside real busybox containers, as root: the container's own cgroups, read-only.
[Collection(ContainerCollection.Name)]
[Trait("Category", "Privileged")]
public sealed class CgroupFilesystemTests(ContainerFixture fixture)
{
    private static ExecSpecification Exec(params string[] command) => new() { Command = command, Timeout = TimeSpan.FromSeconds(20) };

    private static ContainerSpecification Limited(ContainerSpecification spec) =>
        spec with { Resources = new ContainerResources { MemoryLimitBytes = 64L << 20, NanoCpus = 500_000_000 } };

    [Fact]
    public async Task The_Container_Reads_Its_Own_Memory_And_Cpu_Limits_Under_Sys_Fs_Cgroup()
    {
        await using var container = await LinuxContainer.StartAsync(Limited(fixture.Spec("sleep", "100")), fixture.Options);
        var memoryDir = HostDirectory(container.Id, "memory.limit_in_bytes");
        var cpuDir = HostDirectory(container.Id, "cpu.cfs_quota_us");

        var read = await container.ExecAsync(Exec("cat",
            "/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu/cpu.cfs_period_us"));

        Assert.Equal(0, read.ExitCode);
        Assert.Equal($"{64L << 20}\n50000\n100000\n", read.Stdout);
        // The very files of the container's cgroup on the host, not a copy.
        Assert.Equal(File.ReadAllText(memoryDir + "/memory.limit_in_bytes") + File.ReadAllText(cpuDir + "/cpu.cfs_quota_us") + File.ReadAllText(cpuDir + "/cpu.cfs_period_us"), read.Stdout);
    }

    [Fact]
    public async Task The_Cgroup_Files_And_Their_Tmpfs_Are_Read_Only_To_Root_In_The_Container()
    {
        await using var container = await LinuxContainer.StartAsync(Limited(fixture.Spec("sleep", "100")), fixture.Options);
        var memoryDir = HostDirectory(container.Id, "memory.limit_in_bytes");

        var memory = await container.ExecAsync(Exec("sh", "-c", "echo 1073741824 > /sys/fs/cgroup/memory/memory.limit_in_bytes"));
        var cpu = await container.ExecAsync(Exec("sh", "-c", "echo -1 > /sys/fs/cgroup/cpu/cpu.cfs_quota_us"));
        var child = await container.ExecAsync(Exec("mkdir", "/sys/fs/cgroup/memory/escape"));
        var tmpfs = await container.ExecAsync(Exec("mkdir", "/sys/fs/cgroup/more"));

        Assert.Equal(1, memory.ExitCode);
        Assert.Contains("Read-only file system", memory.Stderr);
        Assert.Equal(1, cpu.ExitCode);
        Assert.Contains("Read-only file system", cpu.Stderr);
        Assert.NotEqual(0, child.ExitCode);
        Assert.NotEqual(0, tmpfs.ExitCode);
        Assert.Equal($"{64L << 20}\n", File.ReadAllText(memoryDir + "/memory.limit_in_bytes"));
        Assert.False(Directory.Exists(memoryDir + "/escape"));
    }

    [Fact]
    public async Task Each_Hierarchy_Is_Rooted_At_The_Containers_Cgroup_As_Proc_Self_Cgroup_Says()
    {
        await using var container = await LinuxContainer.StartAsync(Limited(fixture.Spec("sleep", "100")), fixture.Options);

        var listing = await container.ExecAsync(Exec("ls", "/sys/fs/cgroup"));
        var cgroups = await container.ExecAsync(Exec("cat", "/proc/self/cgroup"));
        var mounts = await container.ExecAsync(Exec("grep", " /sys/fs/cgroup", "/proc/self/mountinfo"));

        // Every hierarchy the v1 driver placed the container in and no other, named as the host mounts them
        // (/sys/fs/cgroup/<hierarchy>/...: each controller on its own on this machine, so no links).
        var placed = File.ReadAllLines(Path.Combine(fixture.Options.StateRoot, container.Id, "cgroups")).Select(d => d.Split('/')[4]);
        Assert.Equal(placed.Order(), listing.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order());
        Assert.Contains(":memory:/\n", cgroups.Stdout);
        // The cgroup namespace's root: the mount shows "/", which a runtime joins with /proc/self/cgroup's "/".
        Assert.Contains(mounts.Stdout.Split('\n'), l => l.Contains(" / /sys/fs/cgroup/memory ro,", StringComparison.Ordinal));
        Assert.Contains(mounts.Stdout.Split('\n'), l => l.Contains(" / /sys/fs/cgroup ro,", StringComparison.Ordinal) && l.Contains(" - tmpfs ", StringComparison.Ordinal));
    }

    // The host's directory of the container's cgroup that holds the file.
    private string HostDirectory(string id, string file) =>
        File.ReadAllLines(Path.Combine(fixture.Options.StateRoot, id, "cgroups")).Single(d => File.Exists(Path.Combine(d, file)));
}
