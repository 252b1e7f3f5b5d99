using ProtoSwarm.Client;
using ProtoSwarm.Client.Control;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Lab;

/// <summary>
/// `lab up`: network, daemons, swarm. Whatever fails midway, everything made so far is removed and
/// the message names the node and where its log was kept.
/// </summary>
internal static class LabUp
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(60);

    /// <summary>A failure tied to one node, so the message can point at that node's log.</summary>
    private sealed class NodeFailure(LabNodePlan node, string message, Exception? inner = null) : Exception(message, inner)
    {
        public LabNodePlan Node { get; } = node;
    }

    public static async Task<LabState> RunAsync(LabPlan plan, string daemon, string executor, TextWriter output, ulong snapshotInterval, CancellationToken ct)
    {
        if (LabState.TryLoad(plan.Root, plan.Name) is not null || Directory.Exists(plan.LabDir)
            || (await LabNetwork.ListAsync(plan.Name, ct).ConfigureAwait(false)).Count > 0)
        {
            throw new LabException(
                $"Lab '{plan.Name}' already exists; remove it with `protoswarm lab down --name {plan.Name}` or choose another --name.");
        }

        var managers = plan.Nodes.Count(n => n.Role == LabRole.Manager);
        await output.WriteLineAsync(
            $"Creating lab '{plan.Name}': {managers} manager(s), {plan.Nodes.Count - managers} worker(s) on {LabPlan.CidrOf(LabPlan.Subnet)}, daemon {daemon}").ConfigureAwait(false);
        var state = LabState.From(plan, daemon, executor);
        state.Save(plan.Root);
        try
        {
            await CreateNetworkAsync(plan, output, ct).ConfigureAwait(false);
            state = await StartDaemonsAsync(plan, state, output, ct).ConfigureAwait(false);
            await FormSwarmAsync(plan, output, snapshotInterval, ct).ConfigureAwait(false);
            return state;
        }
        catch (Exception e)
        {
            var why = e is OperationCanceledException ? "it was interrupted" : e.Message;
            var kept = e is NodeFailure failure ? LabNodeLog.Keep(plan.Name, failure.Node) : null;
            await output.WriteLineAsync($"lab up failed; removing lab '{plan.Name}'...").ConfigureAwait(false);
            await LabTeardown.RunAsync(plan.Root, plan.Name, CancellationToken.None).ConfigureAwait(false);
            // Whatever went wrong, the promise is that nothing stays half-made.
            throw new LabException(
                $"lab up failed and removed what it had made: {why.TrimEnd('.')}." + (kept is null ? "" : $" {kept}"), e);
        }
    }

    private static async Task CreateNetworkAsync(LabPlan plan, TextWriter output, CancellationToken ct)
    {
        await LabNetwork.CreateBridgeAsync(plan.BridgeNetns, ct).ConfigureAwait(false);
        foreach (var node in plan.Nodes)
        {
            await LabNetwork.CreateNodeAsync(plan.BridgeNetns, node, ct).ConfigureAwait(false);
        }

        await output.WriteLineAsync(
            $"  network: bridge {LabNames.BridgeInterface} in {plan.BridgeNetns}, {plan.Nodes.Count} node namespace(s)").ConfigureAwait(false);
    }

    private static async Task<LabState> StartDaemonsAsync(LabPlan plan, LabState state, TextWriter output, CancellationToken ct)
    {
        var pids = new Dictionary<string, int>();
        foreach (var node in plan.Nodes)
        {
            pids[node.Name] = LabProcesses.StartDaemon(state.Daemon, node, state.Executor);
            state = state.WithPid(node.Name, pids[node.Name]);
            state.Save(plan.Root);
        }

        await Task.WhenAll(plan.Nodes.Select(async node =>
        {
            try
            {
                await LabProcesses.WaitForControlSocketAsync(node, pids[node.Name], ct).ConfigureAwait(false);
            }
            catch (LabException e)
            {
                throw new NodeFailure(node, e.Message, e);
            }

            await output.WriteLineAsync($"  {node.Name}: protoswarmd up (pid {pids[node.Name]}, {node.ListenAddr})").ConfigureAwait(false);
        })).ConfigureAwait(false);
        return state;
    }

    private static async Task FormSwarmAsync(LabPlan plan, TextWriter output, ulong snapshotInterval, CancellationToken ct)
    {
        var first = plan.FirstManager;
        var leader = new ControlClient(first.ControlSocket);
        var init = await OnNodeAsync(first, "swarm init",
            () => leader.RequestAsync<InitSwarmAck>(new InitSwarm(NewId(), first.Address.ToString(), false, snapshotInterval), RequestTimeout, ct)).ConfigureAwait(false);
        await output.WriteLineAsync($"  {first.Name}: swarm initialised (node {init.NodeId}, cluster {init.ClusterId})").ConfigureAwait(false);

        var managerToken = await OnNodeAsync(first, "join-token manager",
            () => leader.RequestAsync<JoinTokenInfo>(new GetJoinToken(NewId(), NodeRole.Manager), RequestTimeout, ct)).ConfigureAwait(false);
        var workerToken = await OnNodeAsync(first, "join-token worker",
            () => leader.RequestAsync<JoinTokenInfo>(new GetJoinToken(NewId(), NodeRole.Worker), RequestTimeout, ct)).ConfigureAwait(false);

        // Managers one at a time: each join is a Raft membership change and those go one by one.
        foreach (var node in plan.Nodes.Skip(1).Where(n => n.Role == LabRole.Manager))
        {
            await JoinAsync(node, managerToken.Token, first, output, ct).ConfigureAwait(false);
        }

        await Task.WhenAll(plan.Nodes.Where(n => n.Role == LabRole.Worker)
            .Select(node => JoinAsync(node, workerToken.Token, first, output, ct))).ConfigureAwait(false);
    }

    private static async Task JoinAsync(LabNodePlan node, string token, LabNodePlan first, TextWriter output, CancellationToken ct)
    {
        var client = new ControlClient(node.ControlSocket);
        var ack = await OnNodeAsync(node, "swarm join",
            () => client.RequestAsync<JoinSwarmAck>(new JoinSwarm(NewId(), token, first.ListenAddr, node.Address.ToString()), RequestTimeout, ct)).ConfigureAwait(false);
        await output.WriteLineAsync($"  {node.Name}: joined as {ack.Role.ToString().ToLowerInvariant()} (node {ack.NodeId})").ConfigureAwait(false);
    }

    private static async Task<T> OnNodeAsync<T>(LabNodePlan node, string what, Func<Task<T>> request)
    {
        try
        {
            return await request().ConfigureAwait(false);
        }
        catch (SwarmCommandException e)
        {
            throw new NodeFailure(node, $"{what} on {node.Name} failed ({e.Code}): {e.Message}", e);
        }
    }

    private static string NewId() => Guid.NewGuid().ToString("N");
}
