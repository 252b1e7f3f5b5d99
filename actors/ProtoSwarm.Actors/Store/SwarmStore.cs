using System.Threading.Channels;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Store;

/// <summary>Writes to the store go through one proposer: the single-manager one now, Raft later.</summary>
public interface IProposer
{
    /// <summary>
    /// Proposes a set of changes, applied all or nothing once durable. Returns the store index they
    /// were committed at; throws <see cref="StoreConflictException"/> if any change was stale.
    /// </summary>
    Task<ulong> ProposeAsync(IReadOnlyList<StoreChange> changes, CancellationToken ct = default);
}

/// <summary>
/// The managers' store as the rest of the code sees it: lock-free snapshots for readers, and
/// watches that deliver committed events in commit order from a given index.
/// </summary>
public sealed class SwarmStore
{
    /// <summary>How many recent events a late watcher can still be replayed.</summary>
    public const int RetainedEvents = 10_000;

    private readonly object _gate = new();
    private readonly Queue<StoreEvent> _recent = new();
    private readonly List<Channel<StoreEvent>> _watchers = [];
    private StoreState _state;

    // The newest index with an event no longer retained: a watch from before it would miss events.
    // Events are dropped one by one, so this may be an index whose later events are still kept.
    private ulong _compactedThrough;

    public SwarmStore(StoreState initial)
    {
        _state = initial;
        _compactedThrough = initial.Index;
    }

    /// <summary>The latest committed state; an immutable snapshot.</summary>
    public StoreState Current => Volatile.Read(ref _state);

    /// <summary>Called by the proposer only, in commit order.</summary>
    public void Publish(StoreState next, IReadOnlyList<StoreEvent> events)
    {
        lock (_gate)
        {
            if (next.Index <= _state.Index)
            {
                throw new InvalidOperationException($"Store index must grow: {next.Index} after {_state.Index}");
            }

            Volatile.Write(ref _state, next);
            foreach (var e in events)
            {
                _recent.Enqueue(e);
                if (_recent.Count > RetainedEvents)
                {
                    _compactedThrough = _recent.Dequeue().Index;
                }

                for (var i = _watchers.Count - 1; i >= 0; i--)
                {
                    if (!_watchers[i].Writer.TryWrite(e))
                    {
                        _watchers.RemoveAt(i);
                    }
                }
            }
        }
    }

    /// <summary>
    /// Replaces the whole state (a Raft snapshot was installed). Watchers cannot be told what
    /// changed, so each is ended with <see cref="StoreCompactedException"/>: they list again.
    /// </summary>
    public void Reset(StoreState state)
    {
        lock (_gate)
        {
            Volatile.Write(ref _state, state);
            _recent.Clear();
            _compactedThrough = state.Index;
            foreach (var watcher in _watchers)
            {
                watcher.Writer.TryComplete(new StoreCompactedException($"The store was replaced by a snapshot at index {state.Index}; list the objects again."));
            }

            _watchers.Clear();
        }
    }

    /// <summary>
    /// Every event after <paramref name="afterIndex"/>, then new ones as they commit. Throws
    /// <see cref="StoreCompactedException"/> when those events are no longer retained: list again.
    /// </summary>
    public ChannelReader<StoreEvent> Watch(ulong afterIndex, CancellationToken ct)
    {
        var channel = Channel.CreateUnbounded<StoreEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        lock (_gate)
        {
            if (afterIndex < _compactedThrough)
            {
                throw new StoreCompactedException($"Events after index {afterIndex} are no longer retained (only those after {_compactedThrough}); list the objects again and watch from {_state.Index}");
            }

            foreach (var e in _recent.Where(e => e.Index > afterIndex))
            {
                channel.Writer.TryWrite(e);
            }

            _watchers.Add(channel);
        }

        ct.Register(() =>
        {
            lock (_gate)
            {
                _watchers.Remove(channel);
            }

            channel.Writer.TryComplete();
        });
        return channel.Reader;
    }
}

public sealed class StoreCompactedException : Exception
{
    public StoreCompactedException(string message)
        : base(message)
    {
    }

    public StoreCompactedException()
    {
    }

    public StoreCompactedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
