using System.Diagnostics;
using ProtoSwarm.Containers.Runtime;
using ProtoSwarm.Containers.Runtime.Cgroups;

namespace ProtoSwarm.Tests.Containers.Runtime;

// The v2 driver's device filter in the kernel, as root: a cgroup made by the driver under the cgroup2
// mount (this host is hybrid, controllers on v1, but a device program attaches to any cgroup2 directory),
// and shells moved into it before they open anything. The same opens outside the cgroup are the control.
[Trait("Category", "Privileged")]
public sealed class DeviceFilterTests : IDisposable
{
    private const string Unified = "/sys/fs/cgroup/unified";
    private readonly string _name = "protoswarm-devtest-" + Guid.NewGuid().ToString("N")[..8];
    private readonly string _nodes;
    private readonly CgroupV2Driver _driver;
    private readonly CgroupPlacement _placement;

    public DeviceFilterTests()
    {
        Assert.True(File.Exists(Unified + "/cgroup.procs"), $"no cgroup2 mount at {Unified}");
        _nodes = Directory.CreateTempSubdirectory("protoswarm-devtest-").FullName;
        _driver = new CgroupV2Driver(LinuxSyscalls.Instance, new MountInfo("/", Unified, "cgroup2", ["rw"]), $"0::/{_name}\n");
        _placement = _driver.Create("c1", new ContainerResources());
    }

    private string Cgroup => _placement.Directories[0];

    public void Dispose()
    {
        _driver.Remove(_placement);
        foreach (var dir in new[] { $"{Unified}/{_name}/protoswarm", $"{Unified}/{_name}" })
        {
            if (Directory.Exists(dir))
            {
                LinuxSyscalls.Instance.RemoveDirectory(dir);
            }
        }
        Directory.Delete(_nodes, recursive: true);
    }

    [Fact]
    public void The_Shell_Runs_In_The_Filtered_Cgroup()
    {
        var (exit, output, _) = Run(inCgroup: true, "cat /proc/self/cgroup");

        Assert.Equal(0, exit);
        Assert.Contains($"0::/{_name}/protoswarm/c1", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("echo x > /dev/null && echo done", "done")]
    [InlineData("head -c 3 /dev/zero | wc -c", "3")]
    [InlineData("head -c 5 /dev/urandom | wc -c", "5")]
    [InlineData("head -c 2 /dev/random | wc -c", "2")]
    [InlineData("head -c 1 /dev/full | wc -c", "1")]
    [InlineData("exec 3<>/dev/ptmx && echo opened", "opened")]
    public void The_Allowed_Devices_Open(string command, string expected)
    {
        var (exit, output, error) = Run(inCgroup: true, command);

        Assert.True(exit == 0, error);
        Assert.Equal(expected, output.Trim());
    }

    [Fact]
    public void Tty_Is_Not_Refused_By_The_Filter()
    {
        // Without a controlling terminal the tty driver itself says ENXIO; the filter must not say EPERM first.
        var (_, output, error) = Run(inCgroup: true, "exec 3<>/dev/tty && echo opened");

        Assert.DoesNotContain("Operation not permitted", error, StringComparison.Ordinal);
        Assert.True(output.Contains("opened", StringComparison.Ordinal) || error.Contains("No such device or address", StringComparison.Ordinal), error);
    }

    [Theory]
    [InlineData("b", 7, 0, "head -c 1 {0} > /dev/null && echo read")] // loop0, a block device
    [InlineData("c", 1, 11, "exec 3<{0} && echo opened")] // kmsg, a character device not on the list
    public void A_Node_Made_In_The_Cgroup_For_A_Device_Off_The_List_Is_Refused_There_Only(string type, int major, int minor, string open)
    {
        var node = Path.Combine(_nodes, $"{type}{major}-{minor}");

        // Making it is allowed (docker's "c *:* m" and "b *:* m"); opening it is not.
        var (made, _, mknodError) = Run(inCgroup: true, $"mknod {node} {type} {major} {minor}");
        Assert.True(made == 0, mknodError);
        var (refused, _, error) = Run(inCgroup: true, string.Format(System.Globalization.CultureInfo.InvariantCulture, open, node));
        var (opened, output, outsideError) = Run(inCgroup: false, string.Format(System.Globalization.CultureInfo.InvariantCulture, open, node));

        Assert.NotEqual(0, refused);
        Assert.Contains("Operation not permitted", error, StringComparison.Ordinal);
        Assert.True(opened == 0, outsideError);
        Assert.DoesNotContain("Operation not permitted", outsideError, StringComparison.Ordinal);
        Assert.NotEqual("", output.Trim());
    }

    [Fact]
    public void The_Hosts_Own_Nodes_Off_The_List_Are_Refused_Too()
    {
        var (exit, _, error) = Run(inCgroup: true, "exec 3</dev/kmsg && echo opened");

        Assert.NotEqual(0, exit);
        Assert.Contains("Operation not permitted", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_Program_The_Verifier_Refuses_Fails_With_The_Verifiers_Words()
    {
        // "exit" with R0 never set.
        var e = Assert.Throws<SyscallException>(() => LinuxSyscalls.Instance.AttachDeviceFilter(Cgroup, [0x95, 0, 0, 0, 0, 0, 0, 0]));

        Assert.Equal(13, e.Errno); // EACCES: refused by the verifier
        Assert.Contains("verifier:", e.Message, StringComparison.Ordinal);
        Assert.Contains("R0 !read_ok", e.Message, StringComparison.Ordinal);
    }

    // The shell moves itself into the cgroup first ($1 is its cgroup.procs), then runs the command.
    private (int Exit, string Output, string Error) Run(bool inCgroup, string command)
    {
        var script = inCgroup ? "echo $$ > \"$1\" || exit 99; " + command : command;
        var start = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "-c", script, "sh", Cgroup + "/cgroup.procs" })
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output.Result, error);
    }
}
