using ProtoSwarm.Cli.Lab;

namespace ProtoSwarm.Tests.Lab;

/// <summary>`lab start` against a real node namespace, with a stand-in daemon. Needs root.</summary>
[Trait("Category", "Privileged")]
public sealed class LabNodeControlTests : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("lab-ctl-").FullName;
    private readonly string _lab = $"t{Environment.ProcessId}-{Random.Shared.Next(10_000)}";

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await LabTeardown.RunAsync(_root, _lab, CancellationToken.None);
        Directory.Delete(_root, recursive: true);
        File.Delete(LabNodeLog.KeptPath(_lab, "w1"));
    }

    [Fact]
    public async Task A_Node_Host_That_Exits_Fails_Start_With_Its_Log_Kept_And_Quoted()
    {
        var plan = LabPlan.Create(_lab, 1, 1, _root);
        var w1 = plan.Nodes.Single(n => n.Name == "w1");
        await LabNetwork.CreateBridgeAsync(plan.BridgeNetns, CancellationToken.None);
        await LabNetwork.CreateNodeAsync(plan.BridgeNetns, w1, CancellationToken.None);

        // A daemon that says why it cannot run, then exits, as protoswarmd does on a bad state dir.
        var daemon = Path.Combine(_root, "failing-daemon");
        await File.WriteAllTextAsync(daemon, "#!/bin/sh\necho \"fatal: cannot open $2/swarm.db (stand-in)\"\nexit 3\n");
        File.SetUnixFileMode(daemon, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var state = LabState.From(plan, daemon);
        state.Save(_root);

        var thrown = await Assert.ThrowsAsync<LabException>(
            () => LabNodeControl.StartAsync(_root, state, "w1", TextWriter.Null, CancellationToken.None));
        // What a test fixture does next: `lab down`, which removes the state dir and the log in it.
        Directory.Delete(w1.StateDir, recursive: true);

        var kept = LabNodeLog.KeptPath(_lab, "w1");
        Assert.Contains("protoswarmd on w1", thrown.Message, StringComparison.Ordinal);
        Assert.Contains("exited before its control socket answered", thrown.Message, StringComparison.Ordinal);
        Assert.Contains($"kept at {kept}, ending:", thrown.Message, StringComparison.Ordinal);
        Assert.Contains($"fatal: cannot open {w1.StateDir}/swarm.db (stand-in)", thrown.Message, StringComparison.Ordinal);
        Assert.Contains("(stand-in)", await File.ReadAllTextAsync(kept), StringComparison.Ordinal);
        Assert.Equal(0, LabState.Load(_root, _lab).Node("w1").Pid);
    }
}
