using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Store;

/// <summary>
/// Follows the store's committed events into docker's swarm events (<see cref="SwarmEvents"/>), keeping the last
/// version of each object of the kinds that make them, so an update can say what changed and a snapshot that
/// replaced the store (its watch ended) can be told as the changes between the two states.
/// </summary>
public sealed class SwarmEventTracker
{
    private readonly Dictionary<(string Kind, string Id), IStoreObject> _known = [];

    /// <summary>Takes <paramref name="state"/> as what is known, making no events: what was there before one watched.</summary>
    public void Seed(StoreState state)
    {
        _known.Clear();
        foreach (var obj in Tracked(state))
        {
            _known[(obj.Kind, obj.Id)] = obj;
        }
    }

    /// <summary>The event for one committed change, or null (a task, the cluster object, ...).</summary>
    public SwarmEvent? Apply(StoreEvent change, DateTimeOffset now)
    {
        if (!SwarmEvents.Kinds.Contains(change.Kind))
        {
            return null;
        }

        var key = (change.Kind, change.Id);
        _known.TryGetValue(key, out var previous);
        if (change.Action == StoreEventKind.Deleted)
        {
            _known.Remove(key);
        }
        else if (change.Object is { } obj)
        {
            _known[key] = obj;
        }

        return SwarmEvents.From(change, previous, now);
    }

    /// <summary>
    /// The events that take what is known to <paramref name="state"/> (a snapshot replaced the store, so its changes
    /// came as no events): created, updated (a newer version) and removed objects, ordered by kind and id.
    /// </summary>
    public List<SwarmEvent> Resync(StoreState state, DateTimeOffset now)
    {
        var events = new List<SwarmEvent>();
        var seen = new HashSet<(string, string)>();
        foreach (var obj in Tracked(state))
        {
            var key = (obj.Kind, obj.Id);
            seen.Add(key);
            if (!_known.TryGetValue(key, out var before))
            {
                Add(events, Apply(new StoreEvent(state.Index, StoreEventKind.Created, obj.Kind, obj.Id, obj), now));
            }
            else if (before.Meta.Version != obj.Meta.Version)
            {
                Add(events, Apply(new StoreEvent(state.Index, StoreEventKind.Updated, obj.Kind, obj.Id, obj), now));
            }
        }

        foreach (var (key, obj) in _known.Where(k => !seen.Contains(k.Key)).OrderBy(k => k.Key).ToList())
        {
            Add(events, Apply(new StoreEvent(state.Index, StoreEventKind.Deleted, key.Kind, key.Id, obj), now));
        }

        return events;
    }

    private static void Add(List<SwarmEvent> events, SwarmEvent? e)
    {
        if (e is not null)
        {
            events.Add(e);
        }
    }

    private static IEnumerable<IStoreObject> Tracked(StoreState state) =>
        state.List<ServiceObject>().Cast<IStoreObject>()
            .Concat(state.List<NodeObject>())
            .Concat(state.List<SecretObject>())
            .Concat(state.List<ConfigObject>())
            .Concat(state.List<NetworkObject>());
}
