using System.Threading.Channels;
using Proto;

namespace ProtoSwarm.Actors.Store;

/// <summary>A batch of store events moved to an actor by <see cref="StoreWatchPump"/>; <see cref="Watch"/> tells which watch it came from.</summary>
public sealed record StoreEventBatch(List<StoreEvent> Events, CancellationToken Watch);

/// <summary>A store watch ended (the store was replaced by a snapshot, or its events are no longer retained): watch again from now.</summary>
public sealed record StoreWatchEnded
{
    public static readonly StoreWatchEnded Instance = new();
}

/// <summary>Moves a store watch's events into an actor's mailbox, for the actors that follow the store (orchestrator, dispatcher).</summary>
public static class StoreWatchPump
{
    private const int MaxBatch = 10_000;

    /// <summary>
    /// Sends <paramref name="self"/> the events as <see cref="StoreEventBatch"/>es (whatever arrived
    /// while the last batch was sent), then <see cref="StoreWatchEnded"/> when the watch ends; nothing
    /// once <paramref name="ct"/> is cancelled.
    /// </summary>
    public static async Task PumpAsync(ActorSystem system, PID self, ChannelReader<StoreEvent> events, CancellationToken ct)
    {
        try
        {
            while (await events.WaitToReadAsync(ct).ConfigureAwait(false))
            {
                var batch = new List<StoreEvent>();
                while (batch.Count < MaxBatch && events.TryRead(out var e))
                {
                    batch.Add(e);
                }

                system.Root.Send(self, new StoreEventBatch(batch, ct));
            }

            system.Root.Send(self, StoreWatchEnded.Instance);
        }
        catch (OperationCanceledException)
        {
        }
        catch (StoreCompactedException)
        {
            system.Root.Send(self, StoreWatchEnded.Instance);
        }
    }
}
