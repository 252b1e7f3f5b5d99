using ProtoSwarm.Cli.Commands;
using ProtoSwarm.Contracts;
using static ProtoSwarm.Tests.Cli.CliHarness;

namespace ProtoSwarm.Tests.Cli;

public sealed class ExecCommandTests
{
    private static FakeNode Answering(int exitCode = 0, string stdout = "", string stderr = "", bool timedOut = false) =>
        new(request => request is ExecInTask m
            ? new ExecCompleted(m.TaskRef + "000", exitCode, stdout, stderr, timedOut)
            : throw new InvalidOperationException($"not an exec: {request.GetType().Name}"));

    [Fact]
    public async Task Exec_Prints_The_Commands_Output_On_Its_Streams_And_Exits_With_Its_Code()
    {
        var node = Answering(exitCode: 3, stdout: "hello\n", stderr: "warned\n");

        var (code, output, error) = await RunAsync(node, "exec", "x1ab", "sh", "-c", "echo hello; echo warned >&2; exit 3");

        Assert.Equal((3, "hello\n", "warned\n"), (code, output, error));
        var request = Assert.IsType<ExecInTask>(Assert.Single(node.Requests));
        Assert.Equal("x1ab", request.TaskRef);
        Assert.Equal<string>(["sh", "-c", "echo hello; echo warned >&2; exit 3"], request.Command);
        Assert.Equal((null, null, null), (request.User, request.WorkingDir, request.Timeout));
        Assert.Empty(request.Env);
    }

    [Theory]
    [InlineData("Invalid escape keys (ctrl-1) provided: Unknown character: 'ctrl-1'", "exec", "--detach-keys", "ctrl-1", "t1", "sh")]
    [InlineData("Invalid detach keys (ctrl-p,ctrl-Q) provided: Unknown character: 'ctrl-Q'", "run", "-it", "--detach-keys", "ctrl-p,ctrl-Q", "busybox", "sh")]
    [InlineData("Invalid detach keys (xy) provided: Unknown character: 'xy'", "start", "-ai", "--detach-keys", "xy", "probe")]
    public async Task Detach_Keys_That_Are_None_Are_Refused_In_Dockers_Words_Before_Anything_Runs(string expected, params string[] args)
    {
        var node = Answering();

        var (code, _, error) = await RunAsync(node, args);

        Assert.True(code != 0 && error.Contains(expected, StringComparison.Ordinal), error);
        Assert.Empty(node.Requests);
    }

    [Fact]
    public async Task Detach_Keys_Take_A_Value_And_The_Command_Still_Begins_After_The_Task()
    {
        var node = Answering();

        var (code, _, error) = await RunAsync(node, "exec", "--detach-keys", "ctrl-x,q", "t1", "ls", "-l");

        Assert.True(code == 0, error);
        Assert.Equal<string>(["ls", "-l"], Assert.IsType<ExecInTask>(Assert.Single(node.Requests)).Command);
    }

    [Theory]
    [InlineData("plain", new[] { "exec", "t1", "ls", "-l", "/" })]
    [InlineData("-- after the task", new[] { "exec", "t1", "--", "ls", "-l", "/" })]
    [InlineData("--host first", new[] { "-H", "unix:///run/p.sock", "exec", "t1", "ls", "-l", "/" })]
    [InlineData("-- before the task", new[] { "exec", "--", "t1", "ls", "-l", "/" })]
    public async Task Everything_After_The_Task_Belongs_To_The_Command(string form, string[] args)
    {
        var node = Answering();

        var (code, _, error) = await RunAsync(node, args);

        Assert.True(code == 0, $"{form}: {error}");
        var request = Assert.IsType<ExecInTask>(Assert.Single(node.Requests));
        Assert.Equal("t1", request.TaskRef);
        Assert.Equal<string>(["ls", "-l", "/"], request.Command);
    }

    [Fact]
    public async Task Flags_Before_The_Task_Set_Env_User_Workdir_And_Timeout()
    {
        Environment.SetEnvironmentVariable("PROTOSWARM_EXEC_TEST_VAR", "from-shell");
        var node = Answering();

        var (code, _, error) = await RunAsync(node, "exec", "-e", "A=1", "--env=B=x=y", "-e", "PROTOSWARM_EXEC_TEST_VAR", "-e", "PROTOSWARM_EXEC_UNSET_VAR",
            "-u", "app:extra", "-w", "/srv", "--timeout", "1m30s", "t1", "env", "-u", "X");

        Assert.True(code == 0, error);
        var request = Assert.IsType<ExecInTask>(Assert.Single(node.Requests));
        Assert.Equal<string>(["A=1", "B=x=y", "PROTOSWARM_EXEC_TEST_VAR=from-shell"], request.Env);
        Assert.Equal(("app:extra", "/srv", TimeSpan.FromSeconds(90)), (request.User, request.WorkingDir, request.Timeout));
        Assert.Equal<string>(["env", "-u", "X"], request.Command);
    }

    [Theory]
    [InlineData(new[] { "exec", "-di", "t1", "sh" }, "exec --detach and --interactive exclude each other")]
    [InlineData(new[] { "exec", "--privileged", "t1", "sh" }, "confined as the container's entrypoint")]
    [InlineData(new[] { "exec", "-w", "tmp", "t1", "ls" }, "--workdir 'tmp' must be an absolute path")]
    [InlineData(new[] { "exec", "--timeout", "soon", "t1", "ls" }, "--timeout 'soon' is not a duration")]
    [InlineData(new[] { "exec", "--timeout", "0s", "t1", "ls" }, "--timeout '0s' must be longer than zero")]
    [InlineData(new[] { "exec", "-e", "=1", "t1", "ls" }, "--env '=1' has no name")]
    [InlineData(new[] { "exec", "t1" }, "exec needs a command after TASK")]
    [InlineData(new[] { "exec", "t1", "--" }, "exec needs a command after TASK")]
    public async Task Bad_Or_Unsupported_Use_Is_Refused_Before_Asking_The_Node(string[] args, string expected)
    {
        var node = Answering();

        var (code, _, error) = await RunAsync(node, args);

        Assert.Equal(1, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Contains("See 'protoswarm exec --help'.", error, StringComparison.Ordinal);
        Assert.Empty(node.Requests);
    }

    [Fact]
    public async Task Detach_Asks_For_A_Detached_Exec_And_Returns_At_Once_Printing_Nothing()
    {
        var node = new FakeNode(request => request is ExecInTask { Detach: true } m
            ? new ExecStarted(m.TaskRef + "000")
            : throw new InvalidOperationException("not a detached exec"));

        var (code, output, error) = await RunAsync(node, "exec", "-d", "t1", "sh", "-c", "sleep 60");

        Assert.Equal((0, "", ""), (code, output, error));
        var request = Assert.IsType<ExecInTask>(Assert.Single(node.Requests));
        Assert.Equal((true, false, false), (request.Detach, request.Interactive, request.Tty));
    }

    [Fact]
    public async Task The_Nodes_Refusal_Is_Printed_And_Exits_1()
    {
        var node = new FakeNode(_ => new CommandRejected(RejectCode.NotFound,
            "no task zz runs on this node; run `protoswarm service ps` to see where it runs, and exec on that node"));

        var (code, output, error) = await RunAsync(node, "exec", "zz", "ls");

        Assert.Equal((1, ""), (code, output));
        Assert.Equal("Error: no task zz runs on this node; run `protoswarm service ps` to see where it runs, and exec on that node\n", error);
    }

    [Fact]
    public async Task A_Timed_Out_Command_Prints_What_It_Wrote_And_Says_It_Was_Killed()
    {
        var node = Answering(exitCode: 137, stdout: "partial\n", timedOut: true);

        var (code, output, error) = await RunAsync(node, "exec", "--timeout", "2s", "t1", "sleep", "60");

        Assert.Equal((137, "partial\n"), (code, output));
        Assert.Contains("ran longer than --timeout 2s and was killed", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Separation_Leaves_Other_Commands_Alone()
    {
        string[] service = ["service", "create", "busybox", "exec", "x"];

        Assert.False(ExecCommand.TrySeparateCommand(service, out var same));
        Assert.Same(service, same);
        Assert.True(ExecCommand.TrySeparateCommand(["exec", "-e", "A=1", "t1", "sh", "-c", "x"], out var exec));
        Assert.Equal<string>(["exec", "-e", "A=1", "t1", "--", "sh", "-c", "x"], exec);
    }
}
