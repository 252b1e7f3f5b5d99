using ProtoSwarm.Cli.Commands;
using ProtoSwarm.Contracts;
using static ProtoSwarm.Tests.Cli.CliHarness;

namespace ProtoSwarm.Tests.Cli;

public sealed class RunCommandTests
{
    private static FakeNode Answering() => new(request => request switch
    {
        RunContainer m => new ContainerCreated("c0ffee0123456789abcdefghi", m.Name.Length > 0 ? m.Name : "happy_turing"),
        StopContainers m => new ContainersChanged([.. m.Containers.Select(c => new ContainerChange(c, ""))]),
        StartContainers m => new ContainersChanged([.. m.Containers.Select(c => new ContainerChange(c, ""))]),
        RemoveContainers m => new ContainersChanged([.. m.Containers.Select(c => c == "web.1.x"
            ? new ContainerChange(c, "cannot remove container \"/web.1.x\": it is a task's container")
            : new ContainerChange(c, ""))]),
        WaitContainer m => new ContainerExited(m.Container, 3),
        _ => throw new InvalidOperationException($"unexpected {request.GetType().Name}"),
    });

    [Fact]
    public async Task Run_Detached_Sends_The_Flags_And_Prints_The_Containers_Id()
    {
        Environment.SetEnvironmentVariable("PROTOSWARM_RUN_TEST_VAR", "from-shell");
        var node = Answering();

        var (code, output, error) = await RunAsync(node, "run", "-d", "--rm", "--name", "probe", "-e", "A=1", "-e", "PROTOSWARM_RUN_TEST_VAR", "-w", "/srv",
            "-u", "nobody", "--network", "appnet", "busybox", "wget", "-qO-", "web");

        Assert.True(code == 0, error);
        Assert.Equal("c0ffee0123456789abcdefghi\n", output);
        var request = Assert.IsType<RunContainer>(Assert.Single(node.Requests));
        Assert.Equal(("busybox", "probe", "/srv", "nobody", "appnet"), (request.Image, request.Name, request.WorkingDir, request.User, request.Network));
        Assert.Equal<string>(["wget", "-qO-", "web"], request.Command);
        Assert.Equal<string>(["A=1", "PROTOSWARM_RUN_TEST_VAR=from-shell"], request.Env);
        Assert.True(request.AutoRemove && request.Start && !request.Attach && !request.Tty);
        Assert.Null(request.Entrypoint);
    }

    [Theory]
    [InlineData("plain", new[] { "run", "-d", "busybox", "ls", "-l", "/" })]
    [InlineData("container run", new[] { "container", "run", "-d", "busybox", "ls", "-l", "/" })]
    [InlineData("--host first", new[] { "-H", "unix:///run/p.sock", "run", "-d", "busybox", "ls", "-l", "/" })]
    [InlineData("-- before the image", new[] { "run", "-d", "--", "busybox", "ls", "-l", "/" })]
    public async Task Everything_After_The_Image_Belongs_To_The_Command(string form, string[] args)
    {
        Assert.NotEmpty(form);
        var node = Answering();

        var (code, _, error) = await RunAsync(node, args);

        Assert.True(code == 0, error);
        var request = Assert.IsType<RunContainer>(Assert.Single(node.Requests));
        Assert.Equal("busybox", request.Image);
        Assert.Equal<string>(["ls", "-l", "/"], request.Command);
    }

    [Fact]
    public async Task Create_Only_Makes_The_Container_And_Entrypoint_Is_One_Word_An_Empty_One_Clears_It()
    {
        var node = Answering();

        Assert.Equal(0, (await RunAsync(node, "container", "create", "--entrypoint", "/bin/sh -x", "busybox", "-c", "true")).Code);
        Assert.Equal(0, (await RunAsync(node, "create", "--entrypoint", "", "busybox", "echo", "hi")).Code);

        var first = Assert.IsType<RunContainer>(node.Requests[0]);
        Assert.False(first.Start);
        Assert.Equal<string>(["/bin/sh -x"], first.Entrypoint!.Value);
        Assert.Equal<string>(["-c", "true"], first.Command);
        Assert.Empty(Assert.IsType<RunContainer>(node.Requests[1]).Entrypoint!.Value);
    }

    [Theory]
    [InlineData(new[] { "run", "-i", "busybox", "sh" }, "run --interactive is not available yet")]
    [InlineData(new[] { "run", "--name", "-bad", "busybox" }, "Invalid container name (-bad)")]
    [InlineData(new[] { "run", "--name", "a b", "busybox" }, "only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")]
    [InlineData(new[] { "run", "--network", "host", "busybox" }, "host and none networks are not offered")]
    [InlineData(new[] { "run", "-w", "tmp", "busybox" }, "it needs to be an absolute path")]
    [InlineData(new[] { "run", "--bogus", "busybox" }, "unknown flag: --bogus")]
    [InlineData(new[] { "run" }, "\"protoswarm run\" requires at least 1 argument")]
    public async Task Bad_Use_Is_Refused_Before_Asking_The_Node(string[] args, string expected)
    {
        var node = Answering();

        var (code, _, error) = await RunAsync(node, args);

        Assert.Equal(1, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Empty(node.Requests);
    }

    [Fact]
    public async Task Stop_Start_And_Rm_Print_Each_Container_As_Named_And_Docker_Errors_For_The_Rest()
    {
        var node = Answering();

        var stop = await RunAsync(node, "container", "stop", "-t", "2", "probe", "web.1.x");
        var rm = await RunAsync(node, "rm", "-f", "probe", "web.1.x");
        var start = await RunAsync(node, "start", "probe");

        Assert.Equal((0, "probe\nweb.1.x\n"), (stop.Code, stop.Out));
        Assert.Equal(2, Assert.IsType<StopContainers>(node.Requests[0]).TimeoutSeconds);
        Assert.True(Assert.IsType<RemoveContainers>(node.Requests[1]).Force);
        Assert.Equal((1, "probe\n"), (rm.Code, rm.Out));
        Assert.Contains("Error response from daemon: cannot remove container \"/web.1.x\"", rm.Err, StringComparison.Ordinal);
        Assert.Equal((0, "probe\n"), (start.Code, start.Out));
    }

    [Fact]
    public async Task Wait_Prints_The_Exit_Code()
    {
        var (code, output, _) = await RunAsync(Answering(), "container", "wait", "probe");

        Assert.Equal((0, "3\n"), (code, output));
    }

    [Theory]
    [InlineData("all", true, null)]
    [InlineData("20", true, 20)]
    [InlineData("-1", false, null)]
    [InlineData("x", false, null)]
    public void Tail_Is_A_Number_Of_Lines_Or_All(string text, bool valid, int? lines)
    {
        Assert.Equal(valid, RunRules.Tail(text, out var parsed));
        Assert.Equal(lines, parsed);
    }

    [Fact]
    public void A_Double_Dash_After_The_Image_Is_The_Commands_As_Dockers_Run_Takes_It()
    {
        Assert.Equal<string>(["run", "busybox", "--", "--", "ls"], RunCommand.SeparateCommand(["run", "busybox", "--", "ls"]));
    }

    [Fact]
    public void A_Command_Line_That_Is_Not_A_Run_Is_Left_As_It_Is()
    {
        string[] args = ["service", "create", "busybox", "ls", "-l"];

        Assert.Same(args, RunCommand.SeparateCommand(args));
    }
}
