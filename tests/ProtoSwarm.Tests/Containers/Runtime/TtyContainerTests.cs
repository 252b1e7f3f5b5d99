using ProtoSwarm.Containers.Images;
using ProtoSwarm.Containers.Runtime;
using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Runtime;

namespace ProtoSwarm.Tests.Containers.Runtime;

// docker's --tty for a service: the main process of a real busybox container, as root, on a terminal of
// the container's own devpts, and its log what the terminal gave (\n turned into \r\n, one stream).
[Collection(ContainerCollection.Name)]
[Trait("Category", "Privileged")]
public sealed class TtyContainerTests(ContainerFixture fixture) : BusyboxExecutorTests(fixture, "protoswarm-tty-", "busybox:tty")
{
    private const string AskTheTerminal = "[ -t 1 ] && echo tty || echo notty";


    [Theory]
    [InlineData(true, "tty\r\n")]
    [InlineData(false, "notty\n")]
    public async Task A_Task_With_Tty_Writes_On_A_Terminal_And_One_Without_Does_Not(bool tty, string printed)
    {
        var task = new TaskObject(
            "y" + Guid.NewGuid().ToString("N")[..24], ObjectMeta.New(DateTimeOffset.UtcNow), "svc", 1, "node",
            new TaskSpec(new ContainerSpec("busybox:tty", Command: ["sh", "-c", AskTheTerminal], TTY: tty)), 1, TaskState.Running,
            new TaskObservedStatus(TaskState.Assigned, DateTimeOffset.UtcNow));
        var controller = Executor.CreateController(task);
        await controller.PrepareAsync(default);
        try
        {
            await controller.StartAsync(default);
            var exit = await controller.WaitAsync(default).WaitAsync(TimeSpan.FromSeconds(20));
            var log = await controller.ReadLogsAsync(0, null, default);

            Assert.Equal(0, exit.ExitCode);
            Assert.Equal(printed, string.Concat(log.Select(e => e.Line + "\n")));
            Assert.All(log, e => Assert.Equal(LogStream.Stdout, e.Stream));
        }
        finally
        {
            await controller.RemoveAsync(default);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_Terminal_Is_The_Containers_Own_Its_Controlling_One_For_Stdin_Stdout_And_Stderr(bool init)
    {
        // Field 7 of /proc/PID/stat is the controlling terminal's device number, 0 for none.
        var spec = Fixture.Spec("sh", "-c", "tty; [ -t 0 ] && echo in; [ -t 2 ] && echo err >&2; echo $TERM; " +
            "set -- $(cat /proc/self/stat); [ \"$7\" != 0 ] && echo controlling") with { Tty = true, Init = init };

        var (exit, output, error) = await Fixture.RunAsync(spec);

        Assert.Equal(0, exit.ExitCode);
        Assert.Equal("/dev/pts/0\r\nin\r\nerr\r\nxterm\r\ncontrolling\r\n", output);
        Assert.Equal("", error);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_Terminal_Is_Also_Dev_Console(bool readOnlyRoot)
    {
        // Same device as /dev/pts/0 (major and minor in hex), and what is written there shows in the output.
        var spec = Fixture.Spec("sh", "-c", "[ \"$(stat -c %t:%T /dev/console)\" = \"$(stat -c %t:%T /dev/pts/0)\" ] && echo same; echo console > /dev/console")
            with { Tty = true, ReadOnlyRootfs = readOnlyRoot };

        var (exit, output, _) = await Fixture.RunAsync(spec);

        Assert.Equal(0, exit.ExitCode);
        Assert.Equal("same\r\nconsole\r\n", output);
    }

    [Fact]
    public async Task A_Container_Without_A_Terminal_Has_No_Dev_Console()
    {
        var (exit, output, _) = await Fixture.RunAsync(Fixture.Spec("sh", "-c", "[ -e /dev/console ] && echo console || echo none"));

        Assert.Equal(0, exit.ExitCode);
        Assert.Equal("none\n", output);
    }

    [Fact]
    public async Task Term_Set_By_The_Task_Is_Kept()
    {
        var spec = Fixture.Spec("sh", "-c", "echo $TERM") with { Tty = true, Env = ["TERM=vt100"] };

        var (_, output, _) = await Fixture.RunAsync(spec);

        Assert.Equal("vt100\r\n", output);
    }

    [Fact]
    public async Task Everything_Written_Before_The_End_Is_Read_From_The_Terminal()
    {
        // The slave closes with the process; the master then reads what is still buffered before it says EIO.
        var spec = Fixture.Spec("sh", "-c", "seq 1 20000") with { Tty = true };

        var (exit, output, _) = await Fixture.RunAsync(spec);

        Assert.Equal(0, exit.ExitCode);
        Assert.Equal(string.Concat(Enumerable.Range(1, 20000).Select(i => $"{i}\r\n")), output);
    }

    [Fact]
    public async Task Without_A_Log_The_Terminal_Is_Still_Read_So_A_Chatty_Process_Never_Blocks()
    {
        var spec = Fixture.Spec("sh", "-c", "yes | head -c 2000000; exit 3") with { Tty = true, Log = null };

        var (exit, output, _) = await Fixture.RunAsync(spec);

        Assert.Equal(3, exit.ExitCode);
        Assert.Equal("", output);
    }
}
