using System.Collections.Immutable;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Agent.Networks;

/// <summary>
/// The networks the managers want on this node, as one change: with Full, Views is the whole set
/// (a network missing from it is gone); otherwise Views are added or changed, each whole, and
/// Removed are gone.
/// </summary>
public sealed record NetworkChanges(bool Full, ImmutableArray<NetworkView> Views, ImmutableArray<string> Removed)
{
    public static NetworkChanges Of(TaskAssignments assignments) =>
        new(assignments.Full, assignments.Networks, assignments.Full ? [] : assignments.NetworksRemoved);

    /// <summary>This change after <paramref name="earlier"/>, as one: what a slow node applies when changes came faster than it could.</summary>
    public NetworkChanges After(NetworkChanges earlier)
    {
        if (Full)
        {
            return this;
        }

        var views = earlier.Views.ToDictionary(v => v.NetworkId, StringComparer.Ordinal);
        var removed = earlier.Removed.ToHashSet(StringComparer.Ordinal);
        foreach (var id in Removed)
        {
            views.Remove(id);
            removed.Add(id);
        }

        foreach (var view in Views)
        {
            views[view.NetworkId] = view;
            removed.Remove(view.NetworkId);
        }

        return new(earlier.Full, [.. views.Values], earlier.Full ? [] : [.. removed]);
    }
}

/// <summary>
/// A node's overlays as the agent sees them: the node host makes them real (bridges, VXLAN, peers,
/// DNS, virtual IPs, the routing mesh). Changes arrive one at a time, in order, from the
/// <see cref="NetworkAgentActor"/>; a failed change is retried with the next full set.
/// </summary>
public interface INodeNetworks
{
    Task ApplyAsync(NetworkChanges changes, CancellationToken ct);
}
