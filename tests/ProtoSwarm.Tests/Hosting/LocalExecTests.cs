using ProtoSwarm.Actors.Agent.Tasks;
using ProtoSwarm.Containers.Runtime;
using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Runtime;
using ProtoSwarm.Tests.Nodes;
using ProtoSwarm.Tests.Orchestration;

namespace ProtoSwarm.Tests.Hosting;

/// <summary>`protoswarm exec` on the node: which task a reference names, and how the answer is made.</summary>
public sealed class LocalExecTests
{
    private static readonly string[] Running = ["x1abcd000000000000000000a", "x1abce000000000000000000b", "k9zz00000000000000000000c"];

    private static ExecInTask Request(string taskRef, params string[] command) =>
        new("r1", taskRef, [.. command], ["A=1"], "app", "/tmp", TimeSpan.FromSeconds(5));

    [Theory]
    [InlineData("x1abcd000000000000000000a", "x1abcd000000000000000000a")]
    [InlineData("x1abcd", "x1abcd000000000000000000a")]
    [InlineData("k", "k9zz00000000000000000000c")]
    [InlineData("web.1.k9zz00000000000000000000c", "k9zz00000000000000000000c")]
    [InlineData("web.2.x1abce", "x1abce000000000000000000b")]
    public void A_Task_Is_Named_By_Its_Id_A_Unique_Prefix_Or_Its_Container_Name(string taskRef, string expected)
    {
        Assert.Equal(expected, LocalExec.Resolve(taskRef, Running));
    }

    [Fact]
    public void An_Exact_Id_Wins_Over_Longer_Ids_It_Prefixes()
    {
        Assert.Equal("abc", LocalExec.Resolve("abc", ["abcdef", "abc", "abcxyz"]));
    }

    [Fact]
    public void An_Ambiguous_Prefix_Is_Refused_Naming_The_Candidates()
    {
        var e = Assert.Throws<TaskExecException>(() => LocalExec.Resolve("x1ab", Running));

        Assert.Equal(RejectCode.InvalidArgument, e.Code);
        Assert.Equal("task prefix x1ab is ambiguous on this node: it matches x1abcd000000000000000000a, x1abce000000000000000000b; give more of the id", e.Message);
    }

    [Theory]
    [InlineData("zz")]
    [InlineData("web.1")]
    [InlineData("x1abcd000000000000000000a0")]
    public void A_Task_This_Node_Does_Not_Run_Is_Refused_Saying_Where_To_Look(string taskRef)
    {
        var e = Assert.Throws<TaskExecException>(() => LocalExec.Resolve(taskRef, Running));

        Assert.Equal(RejectCode.NotFound, e.Code);
        Assert.Equal($"no task {taskRef} runs on this node; run `protoswarm service ps` on a manager to see where it runs, and exec on that node", e.Message);
    }

    // A manager's store: m1 (this node) runs x1abcd...; m2 runs w7..., has a shut-down q3..., and p5... waits for a node.
    private static readonly TaskObject[] Stored =
    [
        TestServices.Task("x1abcd000000000000000000a", "svc", "node-m1"),
        TestServices.Task("w7aaaa000000000000000000d", "svc", "node-m2"),
        TestServices.Task("q3aaaa000000000000000000e", "svc", "node-m2", TaskState.Shutdown, TaskState.Shutdown),
        TestServices.Task("p5aaaa000000000000000000f", "svc", "", TaskState.Pending),
    ];

    private static readonly NodeObject[] StoredNodes = [TestNodes.Manager("node-m1", "m1"), TestNodes.Manager("node-m2", "m2")];

    [Theory]
    [InlineData("w7", "task w7 is running on node m2, not on this node; exec runs on the node that runs the task: run `protoswarm exec` on m2")]
    [InlineData("web.1.w7aaaa000000000000000000d", "task web.1.w7aaaa000000000000000000d is running on node m2, not on this node; exec runs on the node that runs the task: run `protoswarm exec` on m2")]
    [InlineData("q3", "task q3 is on node m2 (shutdown), not on this node; exec runs on the node that runs the task: run `protoswarm exec` on m2")]
    [InlineData("p5", "task p5 is not on any node yet (pending); exec once it runs, on the node `protoswarm service ps` shows")]
    [InlineData("x1abcd", null)]
    [InlineData("zz", null)]
    public void A_Manager_Says_Which_Node_Runs_A_Task_That_Is_Not_Here(string taskRef, string? expected)
    {
        Assert.Equal(expected, LocalExec.Elsewhere(taskRef, Stored, StoredNodes, "node-m1"));
    }

    [Fact]
    public async Task The_Refusal_Of_A_Task_On_Another_Node_Names_That_Node()
    {
        var here = new FakeExec((taskRef, _) => (LocalExec.Resolve(taskRef, ["x1abcd000000000000000000a"]), new ExecResult(0, "", "", false)));

        var reply = Assert.IsType<CommandRejected>(await LocalExec.HandleAsync(here, Request("w7", "ls"), default, r => LocalExec.Elsewhere(r, Stored, StoredNodes, "node-m1")));

        Assert.Equal(RejectCode.NotFound, reply.Code);
        Assert.StartsWith("task w7 is running on node m2, not on this node", reply.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void An_Empty_Reference_Is_Refused()
    {
        Assert.Equal(RejectCode.InvalidArgument, Assert.Throws<TaskExecException>(() => LocalExec.Resolve("", Running)).Code);
    }

    [Fact]
    public async Task The_Request_Becomes_The_Exec_Specification_And_The_Result_The_Reply()
    {
        var exec = new FakeExec((taskRef, _) => (LocalExec.Resolve(taskRef, Running), new ExecResult(3, "out", "err", true)));

        var reply = await LocalExec.HandleAsync(exec, Request("k9", "sh", "-c", "exit 3"), default);

        Assert.Equal(new ExecCompleted("k9zz00000000000000000000c", 3, "out", "err", true), reply);
        var spec = Assert.Single(exec.Specs);
        Assert.Equal<string>(["sh", "-c", "exit 3"], spec.Command);
        Assert.Equal<string>(["A=1"], spec.Env);
        Assert.Equal(("app", "/tmp", TimeSpan.FromSeconds(5), ExecCompleted.OutputLimitBytes), (spec.User, spec.WorkingDir, spec.Timeout, spec.OutputLimit));
    }

    [Fact]
    public async Task Refusals_Of_The_Executor_Become_Rejections_With_Their_Code()
    {
        var unknown = new FakeExec((taskRef, _) => (LocalExec.Resolve(taskRef, Running), new ExecResult(0, "", "", false)));
        var ended = new FakeExec((_, _) => throw new TaskExecException(RejectCode.Conflict, "task k9zz00000000000000000000c is not running"));
        var invalid = new FakeExec((_, _) => throw new ArgumentException("invalid exec: working directory \"tmp\" must be absolute"));

        var replies = new[]
        {
            await LocalExec.HandleAsync(unknown, Request("zz", "ls"), default),
            await LocalExec.HandleAsync(ended, Request("k9", "ls"), default),
            await LocalExec.HandleAsync(invalid, Request("k9", "ls"), default),
            await LocalExec.HandleAsync(unknown, Request("k9"), default),
        }.Select(r => Assert.IsType<CommandRejected>(r)).ToList();

        Assert.Equal([RejectCode.NotFound, RejectCode.Conflict, RejectCode.InvalidArgument, RejectCode.InvalidArgument], replies.Select(r => r.Code));
        Assert.Contains("is not running", replies[1].Reason, StringComparison.Ordinal);
        Assert.Contains("exec needs a command", replies[3].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Node_Without_The_Linux_Executor_Says_Exec_Needs_It()
    {
        var fake = Assert.IsType<CommandRejected>(await LocalExec.HandleAsync(new FakeExecutor(TimeProvider.System), Request("k9", "ls"), default));
        var none = Assert.IsType<CommandRejected>(await LocalExec.HandleAsync(null, Request("k9", "ls"), default));

        Assert.Equal("this node runs tasks with the test executor; exec needs --executor linux", fake.Reason);
        Assert.Contains("--executor none", none.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Exec_D_Starts_A_Detached_Command_Without_Stdin_Or_Terminal()
    {
        var exec = new FakeExec((_, _) => throw new TaskExecException(RejectCode.Conflict, "task k9zz00000000000000000000c is not running"));

        var reply = await LocalExec.HandleAsync(exec, Request("k9", "sleep", "300") with { Detach = true, Interactive = true, Tty = true }, default);

        Assert.Equal(RejectCode.Conflict, Assert.IsType<CommandRejected>(reply).Code);
        var spec = Assert.Single(exec.Specs);
        Assert.Equal((true, false, false), (spec.Detached, spec.Interactive, spec.Tty));
        Assert.Empty(LinuxContainer.ValidateExec(spec));
    }

    private sealed class FakeExec(Func<string, ExecSpecification, (string, ExecResult)> run) : ITaskExec, ITaskExecutor
    {
        public List<ExecSpecification> Specs { get; } = [];

        public Task<(string TaskId, ExecResult Result)> ExecAsync(string taskRef, ExecSpecification spec, CancellationToken ct)
        {
            Specs.Add(spec);
            return Task.FromResult(run(taskRef, spec));
        }

        // Records what would start, then answers as `run` does for a refusal; sessions are tested against
        // real containers (ExecStreamTests, LinuxExecutorExecTests).
        public Task<(string TaskId, ExecSession Session)> StartExecAsync(string taskRef, ExecSpecification spec, CancellationToken ct)
        {
            Specs.Add(spec);
            _ = run(taskRef, spec);
            throw new NotSupportedException("this fake starts no sessions");
        }

        public ITaskController CreateController(TaskObject task) => throw new NotSupportedException();

        public Task RetainOnlyAsync(IReadOnlySet<string> assignedTaskIds, IReadOnlySet<string> endedTaskIds, CancellationToken ct) => Task.CompletedTask;
    }
}
