using Microsoft.Extensions.Logging;
using Proto;
using ProtoSwarm.Actors.Raft;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Managers;

/// <summary>
/// What the manager actors share: the store replica, the way to write to it, the Raft peer, the clock.
/// AgentOf says where a node's agent is reached (default: <see cref="AgentPidOf"/>, the node's member
/// address); tests that run an agent in the managers' own actor system point it there. MemberBlocked
/// says whether this manager's Proto.Cluster has blocked a member id (default: none is). ExternalCa forwards CSRs to
/// the swarm's external CAs when its signing root's key is not in the swarm (default: none, so such a swarm cannot sign).
/// </summary>
public sealed record ManagerContext(
    SwarmStore Store,
    IProposer Proposer,
    TimeProvider Time,
    ILoggerFactory LoggerFactory,
    RaftView Raft,
    PID RaftPid,
    Func<NodeObject, PID?>? AgentOf = null,
    Func<string, bool>? MemberBlocked = null,
    IExternalCaSigner? ExternalCa = null)
{
    /// <summary>Whether this manager's cluster has blocked the member id: that member is stopping, and whatever it says no longer counts.</summary>
    public bool IsMemberBlocked(string memberId) => MemberBlocked?.Invoke(memberId) ?? false;

    /// <summary>The node's agent, or null when the node has not told where it is reachable.</summary>
    public PID? AgentPid(NodeObject node) => (AgentOf ?? AgentPidOf)(node);

    public static PID? AgentPidOf(NodeObject node) =>
        node.Member is { } member ? new PID($"{member.Host}:{member.Port}", Kinds.Agent) : null;
}

/// <summary>Cluster kind and actor names; a kind is registered only on the members that host it.</summary>
public static class Kinds
{
    public const string Node = "node";

    public const string ManagerApi = "manager-api";

    public const string Dispatcher = "dispatcher";

    public const string Agent = "agent";

    public const string Raft = "raft";

    public const string Orchestrator = "orchestrator";
}
