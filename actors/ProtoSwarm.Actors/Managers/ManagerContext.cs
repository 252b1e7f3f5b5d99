using Microsoft.Extensions.Logging;
using Proto;
using ProtoSwarm.Actors.Raft;
using ProtoSwarm.Actors.Store;

namespace ProtoSwarm.Actors.Managers;

/// <summary>What the manager actors share: the store replica, the way to write to it, the Raft peer, the clock.</summary>
public sealed record ManagerContext(
    SwarmStore Store,
    IProposer Proposer,
    TimeProvider Time,
    ILoggerFactory LoggerFactory,
    RaftView Raft,
    PID RaftPid);

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
