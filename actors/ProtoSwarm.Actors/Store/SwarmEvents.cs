using System.Collections.Immutable;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Store;

/// <summary>
/// docker's swarm-scope events from the store's committed changes, as dockerd makes them from swarmkit's watch: a
/// service, node, secret, config or network created, updated or removed, with its name and, for an update, what
/// changed of what docker reports (a service's image, replicas and update state; a node's availability, role,
/// state, leadership and reachability). Tasks and the other kinds make none, as in docker. The event's time is the
/// object's CreatedAt or UpdatedAt, and the time it was seen for a removal (the store keeps no time of its own for it).
/// </summary>
public static class SwarmEvents
{
    /// <summary>The kinds that make events, by store kind: docker's event types have the same names.</summary>
    public static readonly ImmutableHashSet<string> Kinds =
        [ServiceObject.StoreKind, NodeObject.StoreKind, SecretObject.StoreKind, ConfigObject.StoreKind, NetworkObject.StoreKind];

    /// <summary>The event for <paramref name="change"/>, or null for a kind docker makes none for. <paramref name="previous"/>
    /// is the object as it was before an update (null when not known: the update then says only the name).</summary>
    public static SwarmEvent? From(StoreEvent change, IStoreObject? previous, DateTimeOffset seenAt)
    {
        if (!Kinds.Contains(change.Kind) || change.Object is not { } obj)
        {
            return null;
        }

        var (action, at) = change.Action switch
        {
            StoreEventKind.Created => ("create", obj.Meta.CreatedAt),
            StoreEventKind.Updated => ("update", obj.Meta.UpdatedAt),
            _ => ("remove", seenAt),
        };
        var attributes = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        attributes["name"] = NameOf(obj);
        if (change.Action == StoreEventKind.Updated)
        {
            switch (obj, previous)
            {
                case (ServiceObject now, ServiceObject before):
                    ServiceChanges(before, now, attributes);
                    break;
                case (NodeObject now, NodeObject before):
                    NodeChanges(before, now, attributes);
                    break;
            }
        }

        return new SwarmEvent(change.Kind, action, change.Id, attributes.ToImmutable(), SwarmEvent.SwarmScope, UnixNanos(at));
    }

    /// <summary>Unix nanoseconds of <paramref name="at"/> (a DateTimeOffset holds 100 ns ticks).</summary>
    public static long UnixNanos(DateTimeOffset at) => (at.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;

    private static string NameOf(IStoreObject obj) => obj switch
    {
        ServiceObject s => s.Spec.Name,
        NodeObject n => n.Description.Hostname,
        SecretObject s => s.Spec.Name,
        ConfigObject c => c.Spec.Name,
        NetworkObject n => n.Spec.Name,
        _ => string.Empty,
    };

    private static void ServiceChanges(ServiceObject before, ServiceObject now, ImmutableSortedDictionary<string, string>.Builder attributes)
    {
        if (now.Spec.TaskTemplate.Container.Image != before.Spec.TaskTemplate.Container.Image)
        {
            attributes["image.old"] = before.Spec.TaskTemplate.Container.Image;
            attributes["image.new"] = now.Spec.TaskTemplate.Container.Image;
        }

        if (now.Spec.Mode.Kind == ServiceModeKind.Replicated && before.Spec.Mode.Kind == ServiceModeKind.Replicated
            && now.Spec.Mode.Replicas != before.Spec.Mode.Replicas)
        {
            attributes["replicas.old"] = before.Spec.Mode.Replicas.ToString(System.Globalization.CultureInfo.InvariantCulture);
            attributes["replicas.new"] = now.Spec.Mode.Replicas.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        // As dockerd: a first update status says only its new state; a later one both when the state moved.
        if (now.UpdateStatus is { } status)
        {
            if (before.UpdateStatus is null)
            {
                attributes["updatestate.new"] = status.State.DockerName();
            }
            else if (before.UpdateStatus.State != status.State)
            {
                attributes["updatestate.old"] = before.UpdateStatus.State.DockerName();
                attributes["updatestate.new"] = status.State.DockerName();
            }
        }
    }

    private static void NodeChanges(NodeObject before, NodeObject now, ImmutableSortedDictionary<string, string>.Builder attributes)
    {
        Changed("availability", before.Spec.Availability, now.Spec.Availability, attributes);
        Changed("role", before.Role, now.Role, attributes);
        Changed("state", before.Status.State, now.Status.State, attributes);
        if (now.ManagerStatus is { } manager && before.ManagerStatus is { } was)
        {
            if (manager.Leader != was.Leader)
            {
                attributes["leader.old"] = was.Leader ? "true" : "false";
                attributes["leader.new"] = manager.Leader ? "true" : "false";
            }

            Changed("reachability", was.Reachability, manager.Reachability, attributes);
        }
    }

    private static void Changed<T>(string name, T before, T now, ImmutableSortedDictionary<string, string>.Builder attributes)
        where T : struct, Enum
    {
        if (!before.Equals(now))
        {
            attributes[name + ".old"] = before.ToString().ToLowerInvariant();
            attributes[name + ".new"] = now.ToString().ToLowerInvariant();
        }
    }
}
