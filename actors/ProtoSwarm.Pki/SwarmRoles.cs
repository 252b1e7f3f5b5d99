using System.Diagnostics.CodeAnalysis;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Pki;

/// <summary>The organizational unit a node certificate carries for its role, as swarmkit names them.</summary>
public static class SwarmRoles
{
    public const string ManagerUnit = "swarm-manager";
    public const string WorkerUnit = "swarm-worker";
    public const string ClientUnit = "swarm-client";
    public const string CaCommonName = "swarm-ca";

    public static string ToUnit(NodeRole role) => role switch
    {
        NodeRole.Manager => ManagerUnit,
        NodeRole.Worker => WorkerUnit,
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, "a node is a manager or a worker"),
    };

    public static bool TryParseUnit(string? unit, [NotNullWhen(true)] out NodeRole? role)
    {
        role = unit switch
        {
            ManagerUnit => NodeRole.Manager,
            WorkerUnit => NodeRole.Worker,
            _ => null,
        };
        return role is not null;
    }
}
