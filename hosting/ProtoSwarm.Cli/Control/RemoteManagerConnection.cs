using System.Runtime.CompilerServices;
using ProtoSwarm.Client;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Control;

/// <summary>
/// The CLI's client actor for `--host tcp://IP:PORT`: the managers' API over Proto.Remote with mutual TLS, with
/// the client certificate in $PROTOSWARM_CERT_PATH (default ~/.protoswarm; `protoswarm ca issue-client`).
/// What a node does for itself (init, join, leave) needs that node's control socket; of the node's own, only its
/// local networks are answered over TCP (`network ls` and `network inspect` show them, as docker's remote daemon does),
/// and its events (`events`), which a subscription actor on the manager sends to this client's actor.
/// </summary>
internal sealed class RemoteManagerConnection(string managerAddr, string certificateDir) : INodeConnection
{
    public string Address => "tcp://" + managerAddr;

    public static string DefaultCertificateDir() =>
        ClientCertificates.DefaultDirectory() ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".protoswarm");

    public async Task<TReply> RequestAsync<TReply>(object request, TimeSpan timeout, CancellationToken ct)
    {
        if (request is GetInfo)
        {
            return (TReply)(object)await InfoAsync(timeout, ct);
        }

        if (!Carries(request))
        {
            throw new SwarmCommandException(RejectCode.InvalidArgument,
                $"This command runs on a node itself, through its control socket (unix:///var/lib/protoswarm/control.sock on that node); over {Address} only the managers' API is available.");
        }

        await using var channel = await RemoteChannel.ConnectAsync(managerAddr, ClientCertificates.Load(certificateDir));
        var client = new SwarmClient(channel);
        return await client.AskAsync<TReply>(request, timeout, ct);
    }

    /// <summary>
    /// The manager's events (its swarm's objects and its own containers, as on its control socket), from a subscription
    /// actor there: Ctrl-C here unsubscribes, and a client gone without doing so (killed) stops answering its keepalives.
    /// </summary>
    public async IAsyncEnumerable<SwarmEvent> WatchEventsAsync(WatchEvents request, [EnumeratorCancellation] CancellationToken ct)
    {
        var channel = await RemoteChannel.ConnectAsync(managerAddr, ClientCertificates.Load(certificateDir));
        try
        {
            var events = await channel.SubscribeEventsAsync(new SubscribeEvents(request.RequestId, request.SinceNano, request.UntilNano), Timeouts.Query, ct);
            try
            {
                await foreach (var e in events.ReadAllAsync(ct))
                {
                    yield return e;
                }
            }
            finally
            {
                await WithinAsync(events.DisposeAsync());
            }
        }
        finally
        {
            await WithinAsync(channel.DisposeAsync());
        }
    }

    /// <summary>
    /// Closing is bounded: after Ctrl-C the CLI exits even if the manager does not answer; the manager stops the
    /// subscription itself once this client no longer answers its keepalives.
    /// </summary>
    private static async Task WithinAsync(ValueTask closing)
    {
        try
        {
            await closing.AsTask().WaitAsync(TimeSpan.FromSeconds(3));
        }
        catch (TimeoutException)
        {
        }
    }

    /// <summary>
    /// Whether a request goes to the manager: its API's, and its own bridge, host and none, which its API answers for its
    /// node, as docker's remote daemon lists its own.
    /// </summary>
    internal static bool Carries(object request) => request is IManagerApiRequest or ListLocalNetworks;

    /// <summary>`info` about the swarm as a manager sees it; this CLI is not a node, so it has no node id of its own.</summary>
    private async Task<NodeInfoSnapshot> InfoAsync(TimeSpan timeout, CancellationToken ct)
    {
        var summary = await RequestAsync<SwarmSummary>(new GetSwarmSummary(SwarmIds.NewRequestId()), timeout, ct);
        return new NodeInfoSnapshot(
            "active",
            string.Empty,
            managerAddr,
            ControlAvailable: true,
            summary.ClusterId,
            summary.Managers,
            summary.Nodes,
            [.. summary.ManagerAddresses.Select(m => m.Addr)],
            Hostname: string.Empty,
            EngineVersion: string.Empty,
            StateDir: string.Empty,
            Error: string.Empty,
            ListenAddr: managerAddr,
            MemberId: string.Empty,
            summary.Security);
    }
}
