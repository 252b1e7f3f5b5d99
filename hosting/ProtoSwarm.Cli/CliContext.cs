using ProtoSwarm.Cli.Commands;
using ProtoSwarm.Cli.Control;
using ProtoSwarm.Client;
using ProtoSwarm.Client.Control;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli;

/// <summary>How long a command waits for the node before it gives up and says so.</summary>
internal static class Timeouts
{
    public static readonly TimeSpan Query = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan Change = TimeSpan.FromSeconds(30);

    /// <summary>init, join and leave create keys, fetch certificates and wait for Raft; ~30 s is normal.</summary>
    public static readonly TimeSpan Membership = TimeSpan.FromSeconds(90);
}

/// <summary>What a running command uses: the node it talks to and where it writes.</summary>
internal sealed class CliContext(INodeConnection node, TextWriter output, TextWriter error)
{
    private NodeInfoSnapshot? _info;
    private SwarmClient? _swarm;

    public TextWriter Out { get; } = output;

    public TextWriter Error { get; } = error;

    public INodeConnection Node { get; } = node;

    /// <summary>The typed client over the same connection; `service` commands use its services API.</summary>
    public SwarmClient Swarm => _swarm ??= new SwarmClient(new NodeConnectionChannel(Node));

    /// <summary>True when stdout is a terminal, so progress may be redrawn in place.</summary>
    public bool OutIsTerminal => ReferenceEquals(Out, Console.Out) && !Console.IsOutputRedirected;

    /// <summary>True when stderr is a terminal: progress written there may be redrawn in place.</summary>
    public bool ErrorIsTerminal => ReferenceEquals(Error, Console.Error) && !Console.IsErrorRedirected;

    /// <summary>--host/-H when given (already checked by the parser), else PROTOSWARM_CONTROL_SOCKET, else the default.</summary>
    /// <summary>A control socket's path, or tcp://IP:PORT for a manager reached with a client certificate.</summary>
    public static string Target(string? hostFlag) =>
        hostFlag is null ? ControlClient.DefaultSocketPath() : ArgumentRules.Host(hostFlag).Value;

    public Task<TReply> RequestAsync<TReply>(object request, TimeSpan timeout, CancellationToken ct) =>
        Node.RequestAsync<TReply>(request, timeout, ct);

    public async Task<NodeInfoSnapshot> InfoAsync(CancellationToken ct) =>
        _info ??= await RequestAsync<NodeInfoSnapshot>(new GetInfo(SwarmIds.NewRequestId()), Timeouts.Query, ct);

    /// <summary>Docker's "self": the node this CLI talks to. Other names are the node's to resolve.</summary>
    public async Task<string> ResolveNodeRefAsync(string nodeRef, CancellationToken ct)
    {
        if (nodeRef != "self")
        {
            return nodeRef;
        }

        var info = await InfoAsync(ct);
        return info.NodeId.Length > 0
            ? info.NodeId
            : throw new SwarmCommandException(RejectCode.NotInSwarm,
                "'self' names this node, but it is not part of a swarm; run 'protoswarm swarm init' or 'protoswarm swarm join' first.");
    }
}
