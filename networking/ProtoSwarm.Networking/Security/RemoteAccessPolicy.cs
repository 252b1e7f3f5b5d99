using System.Collections.Frozen;
using ProtoSwarm.Contracts;
using ProtoSwarm.Pki;

namespace ProtoSwarm.Networking.Security;

/// <summary>
/// Which messages a peer may send, decided from the certificate of the connection they arrive on, never from
/// anything inside the message. A manager's certificate may send anything. A worker's may not send the
/// managers' API requests (<see cref="IManagerApiRequest"/>) nor what only managers send each other
/// (<see cref="IManagerPeerMessage"/>: Raft, relayed joins and renewals), and may reach the managers' own
/// actors only with ProtoSwarm contracts (no Stop or PoisonPill). An operator's client certificate may send the
/// managers' API requests and nothing else that is not a ProtoSwarm contract.
/// </summary>
public sealed class RemoteAccessPolicy
{
    /// <summary>Where refused messages are delivered instead: it answers a request with PermissionDenied.</summary>
    public const string DeniedTarget = "permission-denied";

    private readonly FrozenSet<string> _managerApiTypes;
    private readonly FrozenSet<string> _managerPeerTypes;
    private readonly FrozenSet<string> _contractTypes;
    private readonly FrozenSet<string> _protectedTargets;
    private readonly FrozenSet<string> _nodeOwnTypes;

    /// <param name="protectedTargets">The managers' own actors (their names, and children below them).</param>
    public RemoteAccessPolicy(IEnumerable<string> protectedTargets)
    {
        var contracts = ContractRegistry.Types.ToList();
        _contractTypes = contracts.Select(ContractRegistry.NameOf).ToFrozenSet(StringComparer.Ordinal);
        _managerApiTypes = contracts.Where(t => typeof(IManagerApiRequest).IsAssignableFrom(t)).Select(ContractRegistry.NameOf).ToFrozenSet(StringComparer.Ordinal);
        _managerPeerTypes = contracts.Where(t => typeof(IManagerPeerMessage).IsAssignableFrom(t)).Select(ContractRegistry.NameOf).ToFrozenSet(StringComparer.Ordinal);
        _protectedTargets = protectedTargets.ToFrozenSet(StringComparer.Ordinal);
        _nodeOwnTypes = contracts.Where(t => typeof(INodeOwnMessage).IsAssignableFrom(t)).Select(ContractRegistry.NameOf).ToFrozenSet(StringComparer.Ordinal);
    }

    /// <summary>Counts refused messages by type name, for logs and tests.</summary>
    public RefusalCounter Refused { get; } = new();

    /// <summary>The client-mode systems (operators' CLIs) connected now, with where they connect from.</summary>
    public ClientConnections Clients { get; } = new();

    /// <summary>
    /// On a manager: a node's role as the store has it now. A manager demoted since its certificate was issued
    /// loses the managers' API at once, not when its certificate is renewed; Raft itself governs Raft traffic.
    /// </summary>
    public Func<string, NodeRole?>? StoreRole { get; set; }

    public bool Allows(SwarmPeer peer, string typeName, string target)
    {
        if (peer is { IsClient: false, Role: NodeRole.Manager })
        {
            return !_managerApiTypes.Contains(typeName) || StoreRole?.Invoke(peer.NodeId) is not NodeRole.Worker;
        }

        if (_managerPeerTypes.Contains(typeName))
        {
            return false;
        }

        if (peer.IsClient)
        {
            return _contractTypes.Contains(typeName);
        }

        if (_managerApiTypes.Contains(typeName))
        {
            return false;
        }

        return !IsProtected(target) || _contractTypes.Contains(typeName);
    }

    /// <summary>
    /// Whether a message that <see cref="Allows"/> lets through must also name the sender itself: a worker's
    /// <see cref="INodeOwnMessage"/>, whose node id must be the certificate's (see <see cref="NamesItself"/>).
    /// </summary>
    public bool MustNameItself(SwarmPeer peer, string typeName) =>
        peer is { IsClient: false, Role: NodeRole.Worker } && _nodeOwnTypes.Contains(typeName);

    /// <summary>The check behind <see cref="MustNameItself"/>, on the decoded message.</summary>
    public static bool NamesItself(SwarmPeer peer, object message) =>
        message is INodeOwnMessage own && string.Equals(own.NodeId, peer.NodeId, StringComparison.Ordinal);

    private bool IsProtected(string target)
    {
        var slash = target.IndexOf('/', StringComparison.Ordinal);
        return _protectedTargets.Contains(slash < 0 ? target : target[..slash]);
    }
}

/// <summary>Refused messages by type, thread-safe.</summary>
public sealed class RefusalCounter
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _byType = new(StringComparer.Ordinal);

    public int Total => _byType.Values.Sum();

    public IReadOnlyDictionary<string, int> ByType => _byType;

    internal void Count(string typeName) => _byType.AddOrUpdate(typeName, 1, (_, n) => n + 1);
}

/// <summary>
/// Where each client-mode Proto.Remote system (an operator's CLI) connects from, while it is connected: a client's
/// actors have the manager's own address in their PID (<c>$client/SYSTEM-ID/...</c> as the id), so this is how a
/// manager names the machine behind one in its log. Thread-safe.
/// </summary>
public sealed class ClientConnections
{
    private const string ClientPrefix = "$client/";

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _bySystem = new(StringComparer.Ordinal);

    /// <summary>The remote end (IP:port) of the connection of the client system that <paramref name="actorId"/> lives in, or null.</summary>
    public string? Describe(string actorId)
    {
        if (!actorId.StartsWith(ClientPrefix, StringComparison.Ordinal))
        {
            return null;
        }

        var end = actorId.IndexOf('/', ClientPrefix.Length);
        var systemId = end < 0 ? actorId[ClientPrefix.Length..] : actorId[ClientPrefix.Length..end];
        return _bySystem.TryGetValue(systemId, out var remote) ? remote : null;
    }

    internal void Opened(string systemId, string remote) => _bySystem[systemId] = remote;

    internal void Closed(string systemId, string remote) => _bySystem.TryRemove(new KeyValuePair<string, string>(systemId, remote));
}
