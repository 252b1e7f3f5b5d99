using ProtoSwarm.Cli.Lab;

namespace ProtoSwarm.Tests.Lab;

/// <summary>The lab's namespace plumbing on its own, without any protoswarmd. Needs root.</summary>
[Trait("Category", "Privileged")]
public sealed class LabNetworkTests : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("lab-net-").FullName;
    private readonly string _lab = $"t{Environment.ProcessId}-{Random.Shared.Next(10_000)}";

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await LabTeardown.RunAsync(_root, _lab, CancellationToken.None);
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task Nodes_Reach_Each_Other_Over_The_Bridge_And_Nothing_Changes_In_The_Callers_Namespace()
    {
        var linksBefore = await ProcessRunner.RunCheckedAsync("ip", ["-o", "link", "show"], CancellationToken.None);
        var plan = LabPlan.Create(_lab, 1, 1, _root);

        await LabNetwork.CreateBridgeAsync(plan.BridgeNetns, CancellationToken.None);
        foreach (var node in plan.Nodes)
        {
            await LabNetwork.CreateNodeAsync(plan.BridgeNetns, node, CancellationToken.None);
        }

        Assert.Equal(
            [plan.BridgeNetns, .. plan.Nodes.Select(n => n.Netns)],
            (await LabNetwork.ListAsync(_lab, CancellationToken.None)).Order());
        var m1Addresses = await ProcessRunner.RunCheckedAsync("ip", ["-n", plan.Nodes[0].Netns, "-o", "-4", "addr", "show", "dev", "eth0"], CancellationToken.None);
        Assert.Contains("10.250.0.11/24", m1Addresses, StringComparison.Ordinal);

        // Nothing listens on w1:9, so a reachable w1 answers with a reset: "Connection refused"
        // proves the path m1 -> bridge -> w1 works; an unreachable one would say "No route to host".
        var probe = await ProcessRunner.RunAsync("nsenter",
            [$"--net={LabNames.NetnsPath(plan.Nodes[0].Netns)}", "timeout", "5", "bash", "-c", "echo > /dev/tcp/10.250.0.101/9"],
            CancellationToken.None);
        Assert.Contains("Connection refused", probe.StdErr, StringComparison.Ordinal);

        Assert.Equal(linksBefore, await ProcessRunner.RunCheckedAsync("ip", ["-o", "link", "show"], CancellationToken.None));
    }

    [Fact]
    public async Task Teardown_Removes_A_Half_Made_Lab_And_Is_Idempotent()
    {
        var plan = LabPlan.Create(_lab, 2, 0, _root);
        await LabNetwork.CreateBridgeAsync(plan.BridgeNetns, CancellationToken.None);
        await LabNetwork.CreateNodeAsync(plan.BridgeNetns, plan.Nodes[0], CancellationToken.None);
        Directory.CreateDirectory(plan.Nodes[0].StateDir);

        var first = await LabTeardown.RunAsync(_root, _lab, CancellationToken.None);
        var second = await LabTeardown.RunAsync(_root, _lab, CancellationToken.None);

        Assert.Equal(2, first.Namespaces);
        Assert.True(first.StateRemoved);
        Assert.False(second.FoundAnything);
        Assert.Empty(await LabNetwork.ListAsync(_lab, CancellationToken.None));
        Assert.False(Directory.Exists(plan.LabDir));
    }
}
