using System.Collections.Immutable;

namespace ProtoSwarm.Contracts;

/// <summary>
/// docker's networks of every host (host, bridge, none), which a swarm service may name in docker and which
/// ProtoSwarm does not have: no swarm network may take their names, and a service or a stack naming one is told
/// what it gets here instead, rather than that the network does not exist (with a hint to create it). One rule
/// for the managers' spec check, `service create/update --network` (through it) and a stack's external networks.
/// </summary>
public static class PredefinedNetworks
{
    public static readonly ImmutableHashSet<string> Names = ["bridge", "host", "none"];

    /// <summary>What naming the network gives in ProtoSwarm and what to use instead, or null for any other name.</summary>
    public static (string Problem, string Fix)? Problem(string name) => name switch
    {
        "host" => ("ProtoSwarm has no host networking: every task has a network namespace of its own",
            "attach an overlay network (`protoswarm network create --driver overlay NAME`), or publish ports with mode=host to bind them on the node's own addresses"),
        "bridge" => ("the network bridge cannot be used with services (as in docker): a task on no network is already on its node's bridge",
            "leave the network out for that, or attach an overlay network (`protoswarm network create --driver overlay NAME`)"),
        "none" => ("ProtoSwarm has no none network: a task on no network is on its node's bridge, and a task with loopback alone is not offered",
            "leave the network out (the task then reaches its node and what the node reaches), or attach an --internal overlay network to keep it off the outside"),
        _ => null,
    };
}
