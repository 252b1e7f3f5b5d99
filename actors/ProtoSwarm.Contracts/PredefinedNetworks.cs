using System.Collections.Immutable;

namespace ProtoSwarm.Contracts;

/// <summary>
/// docker's networks of every host (host, bridge, none), which no swarm network may take the name of. host and none are
/// network modes rather than networks: a task or container named onto host shares its node's network namespace, one on
/// none has a namespace of its own with loopback alone; either is its only network, nothing is allocated for it, and the
/// managers keep the name itself as the attachment's target (there is no network object to give an id). bridge is the
/// node's bridge, where a task on no network already is. One rule for the managers' spec check, `service create/update
/// --network` (through it), a stack's external networks, and the node that runs the containers.
/// </summary>
public static class PredefinedNetworks
{
    public const string Host = "host", None = "none", Bridge = "bridge";

    public static readonly ImmutableHashSet<string> Names = [Bridge, Host, None];

    /// <summary>Whether the target is one of the two network modes (host, none) rather than a network.</summary>
    public static bool IsMode(string target) => target is Host or None;

    /// <summary>The network mode the attachments ask for (host or none), or null when they name networks (or nothing).</summary>
    public static string? ModeOf(ImmutableArray<NetworkAttachment> networks) =>
        networks.IsDefaultOrEmpty ? null
        : networks.Any(n => n.Target == Host) ? Host
        : networks.Any(n => n.Target == None) ? None
        : null;

    /// <summary>The attachments that name networks, without the modes: what the managers allocate addresses on.</summary>
    public static IEnumerable<NetworkAttachment> Networks(ImmutableArray<NetworkAttachment> networks) =>
        networks.IsDefault ? [] : networks.Where(n => !IsMode(n.Target));

    /// <summary>Why `run --network none` takes no -p or -P: its container has loopback alone (docker would publish nothing, silently).</summary>
    public const string NonePublishConflict =
        "Conflicting options: -p/--publish (or -P) and --network none: a container on none has loopback alone, so nothing could reach a port published from it; leave -p out, or run it on the bridge (no --network) or an attachable overlay";

    /// <summary>docker's warning when a container run on host is given -p or -P: the container binds the node's ports itself.</summary>
    public const string HostPublishWarning = "WARNING: Published ports are discarded when using host network mode";

    /// <summary>What naming the network gives in ProtoSwarm and what to use instead, or null for a name a service may use.</summary>
    public static (string Problem, string Fix)? Problem(string name) => name switch
    {
        Bridge => ("the network bridge cannot be used with services (as in docker): a task on no network is already on its node's bridge",
            "leave the network out for that, or attach an overlay network (`protoswarm network create --driver overlay NAME`)"),
        _ => null,
    };
}
