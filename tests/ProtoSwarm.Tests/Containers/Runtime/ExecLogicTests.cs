using System.Text;
using System.Text.Json;
using ProtoSwarm.ContainerInit;
using ProtoSwarm.Containers.Runtime;

namespace ProtoSwarm.Tests.Containers.Runtime;

// The host side of exec against a scripted init: what it writes, how it reads init's report.
public sealed class ExecLogicTests
{
    private static readonly ContainerPaths Paths = new("/state/c1");

    private static RecordingSyscalls Machine(params string[] initSays)
    {
        var sys = new RecordingSyscalls();
        sys.Files["/init"] = "";
        sys.Files[Paths.Config] = "{}";
        sys.InitSays.AddRange(initSays);
        return sys;
    }

    private static async Task<ExecResult> RunAsync(RecordingSyscalls sys, ExecSpecification spec)
    {
        var exec = LinuxContainer.ExecAsync(spec, sys, TimeProvider.System, "/init", Paths, 4321, CancellationToken.None);
        sys.InitSide!.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        return await exec;
    }

    [Fact]
    public async Task The_Exec_Config_Names_The_Container_And_Is_Removed_Afterwards()
    {
        var sys = Machine("started 99", "exit 768");
        var spec = new ExecSpecification { Command = ["ls", "-l"], Env = ["A=1"], User = "app", WorkingDir = "/tmp" };

        var result = await RunAsync(sys, spec);
        var written = sys.Calls.Single(c => c.StartsWith("write /state/c1/exec-", StringComparison.Ordinal));
        var config = JsonSerializer.Deserialize(written[(written.IndexOf(" = ", StringComparison.Ordinal) + 3)..], ExecConfigJson.Default.ExecConfig)!;

        Assert.Equal(3, result.ExitCode);
        Assert.Equal((4321, "/state/c1/config.json", "ls -l", "A=1", "app", "/tmp"),
            (config.Pid, config.ContainerConfig, string.Join(' ', config.Args), string.Join(' ', config.Env), config.User, config.WorkingDir));
        Assert.Contains(sys.Calls, c => c.StartsWith("rm /state/c1/exec-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_Signal_Gives_128_Plus_The_Signal_And_Output_Is_Cut_At_The_Limit()
    {
        var sys = Machine("started 99", "exit 15");
        sys.ExecStdout = Encoding.UTF8.GetBytes(new string('x', 100));
        sys.ExecStderr = Encoding.UTF8.GetBytes("oops");

        var result = await RunAsync(sys, new ExecSpecification { Command = ["x"], OutputLimit = 10 });

        Assert.Equal(new ExecResult(143, "xxxxxxxxxx", "oops", false), result);
    }

    [Fact]
    public async Task A_Command_That_Could_Not_Run_Is_A_Result_With_Dockers_Code()
    {
        var sys = Machine("failed 127 exec: \"foo\": executable file not found in $PATH");

        var result = await RunAsync(sys, new ExecSpecification { Command = ["foo"] });

        Assert.Equal(127, result.ExitCode);
    }

    [Fact]
    public async Task A_Container_Init_Could_Not_Enter_Is_An_Exception()
    {
        var sys = Machine("failed 125 container c1 is not running");

        var e = await Assert.ThrowsAsync<ContainerExecException>(() => RunAsync(sys, new ExecSpecification { Command = ["true"] }));

        Assert.Equal("container c1 is not running", e.Message);
    }

    [Fact]
    public async Task Without_State_The_Container_Is_Not_Running_And_Nothing_Is_Started()
    {
        var sys = Machine();
        sys.Files.Remove(Paths.Config);

        var e = await Assert.ThrowsAsync<ContainerExecException>(() =>
            LinuxContainer.ExecAsync(new ExecSpecification { Command = ["true"] }, sys, TimeProvider.System, "/init", Paths, 4321, CancellationToken.None));

        Assert.Equal("container c1 is not running", e.Message);
        Assert.DoesNotContain(sys.Calls, c => c.StartsWith("spawn", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_Detached_Exec_Tells_Init_So_And_Sends_Its_Output_To_Dev_Null()
    {
        var sys = Machine("started 99", "exit 0");

        var session = await LinuxContainer.StartExecAsync(new ExecSpecification { Command = ["sleep", "300"], Detached = true },
            sys, TimeProvider.System, "/init", Paths, 4321, CancellationToken.None);
        sys.InitSide!.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        var result = await session.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        var written = sys.Calls.Single(c => c.StartsWith("write /state/c1/exec-", StringComparison.Ordinal));
        var config = JsonSerializer.Deserialize(written[(written.IndexOf(" = ", StringComparison.Ordinal) + 3)..], ExecConfigJson.Default.ExecConfig)!;

        Assert.Equal(0, result.ExitCode);
        Assert.True(config.Detached);
        Assert.Contains(sys.Calls, c => c.StartsWith("spawn-exec /init /state/c1/exec-", StringComparison.Ordinal) && c.EndsWith(" discard-output", StringComparison.Ordinal));
        Assert.Equal(["a detached exec has no stdin or terminal: drop -i and -t, or -d"],
            LinuxContainer.ValidateExec(new ExecSpecification { Command = ["sh"], Detached = true, Interactive = true }));
    }

    [Fact]
    public void A_Specification_Is_Checked_Before_Anything_Runs()
    {
        var problems = LinuxContainer.ValidateExec(new ExecSpecification { Command = [], WorkingDir = "tmp", Timeout = TimeSpan.Zero, OutputLimit = -1, Env = ["=x"] });

        Assert.Equal(5, problems.Count);
    }

    [Fact]
    public void The_Exec_Keeps_The_Containers_Confinement_And_Overrides_Its_Env()
    {
        var container = new InitConfig
        {
            Args = ["sleep", "1"], Env = ["PATH=/bin", "A=1", "B=2"], WorkingDir = "/srv", User = "app", Hostname = "h",
            CgroupProcs = ["/cg/cgroup.procs"], AdditionalGids = [7], Capabilities = 5, Seccomp = [1, 2, 3, 4, 5, 6, 7, 8],
            Rlimits = [new InitRlimit { Resource = 7, Soft = 1, Hard = 2 }],
        };

        var exec = new ExecConfig { Args = ["id"], Env = ["B=3", "C=4"] }.ApplyTo(container);

        Assert.Equal(["id"], exec.Args);
        Assert.Equal(["PATH=/bin", "A=1", "B=3", "C=4"], exec.Env);
        Assert.Equal(("/srv", "app", "h", 5UL, 8, 1, 7U), (exec.WorkingDir, exec.User, exec.Hostname, exec.Capabilities, exec.Seccomp.Length, exec.Rlimits.Length, exec.AdditionalGids[0]));
        Assert.Equal(("/tmp", "0"), (new ExecConfig { User = "0", WorkingDir = "/tmp" }.ApplyTo(container) is var other ? (other.WorkingDir, other.User) : default));
    }

    [Fact]
    public void A_Bare_Exec_Key_Unsets_The_Containers_Variable_Instead_Of_Adding_A_Bare_Line()
    {
        var container = new InitConfig { Args = ["sleep", "1"], Env = ["PATH=/bin", "A=1"] };

        var exec = new ExecConfig { Args = ["env"], Env = ["A", "B"] }.ApplyTo(container);

        Assert.Equal(["PATH=/bin"], exec.Env);
    }
}
