using Microsoft.Extensions.Logging;
using ProtoSwarm.Actors.Store;

namespace ProtoSwarm.Actors.Managers;

/// <summary>What the manager actors share: the store, the way to write to it, and the clock.</summary>
public sealed record ManagerContext(
    SwarmStore Store,
    IProposer Proposer,
    TimeProvider Time,
    ILoggerFactory LoggerFactory,
    string LocalNodeId);

/// <summary>Cluster kind names; a kind is registered only on the members that host it.</summary>
public static class Kinds
{
    public const string Node = "node";

    public const string ManagerApi = "manager-api";

    public const string Dispatcher = "dispatcher";

    public const string Agent = "agent";
}
