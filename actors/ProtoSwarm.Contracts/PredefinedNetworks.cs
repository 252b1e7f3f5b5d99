using System.Collections.Immutable;

namespace ProtoSwarm.Contracts;

/// <summary>
/// docker's networks of every host (host, bridge, none), which no swarm network may take the name of. host and none are
/// network modes rather than networks: a task or container named onto host shares its node's network namespace, one on
/// none has a namespace of its own with loopback alone; either is its only network, nothing is allocated for it, and the
/// managers keep the name itself as the attachment's target (there is no network object to give an id). bridge is the
/// node's bridge, where a task on no network already is; a service names it as docker's swarm lets one (docker 17.06's
/// node-local networks): kept by name as host and none are, nothing allocated, each task on its own node's bridge, beside
/// the overlays it names too. One rule for the managers' spec check, `service create/update --network` (through it), a
/// stack's external networks, and the node that runs the containers.
/// </summary>
public static class PredefinedNetworks
{
    public const string Host = "host", None = "none", Bridge = "bridge";

    public static readonly ImmutableHashSet<string> Names = [Bridge, Host, None];

    /// <summary>Whether the target is one of the two network modes (host, none) rather than a network.</summary>
    public static bool IsMode(string target) => target is Host or None;

    /// <summary>Whether the target is one of the node's own networks (bridge, host, none), kept by name: no swarm network stands for it.</summary>
    public static bool IsLocal(string target) => target is Bridge or Host or None;

    /// <summary>Whether the attachments name the node's bridge (a service's `--network bridge`).</summary>
    public static bool OnBridge(ImmutableArray<NetworkAttachment> networks) => !networks.IsDefault && networks.Any(n => n.Target == Bridge);

    /// <summary>The network mode the attachments ask for (host or none), or null when they name networks (or nothing).</summary>
    public static string? ModeOf(ImmutableArray<NetworkAttachment> networks) =>
        networks.IsDefaultOrEmpty ? null
        : networks.Any(n => n.Target == Host) ? Host
        : networks.Any(n => n.Target == None) ? None
        : null;

    /// <summary>The attachments that name swarm networks, without the node's own (bridge, host, none): what the managers allocate addresses on.</summary>
    public static IEnumerable<NetworkAttachment> Networks(ImmutableArray<NetworkAttachment> networks) =>
        networks.IsDefault ? [] : networks.Where(n => !IsLocal(n.Target));

    /// <summary>Why `run --network none` takes no -p or -P: its container has loopback alone (docker would publish nothing, silently).</summary>
    public const string NonePublishConflict =
        "Conflicting options: -p/--publish (or -P) and --network none: a container on none has loopback alone, so nothing could reach a port published from it; leave -p out, or run it on the bridge (no --network) or an attachable overlay";

    /// <summary>docker's warning when a container run on host is given -p or -P: the container binds the node's ports itself.</summary>
    public const string HostPublishWarning = "WARNING: Published ports are discarded when using host network mode";
}
