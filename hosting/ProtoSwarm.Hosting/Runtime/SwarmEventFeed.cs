using ProtoSwarm.Actors.Raft;
using ProtoSwarm.Actors.Store;

namespace ProtoSwarm.Hosting.Runtime;

/// <summary>
/// A manager's swarm-scope events: its store's committed changes, in commit order, made into docker's events
/// (<see cref="SwarmEventTracker"/>) and published to the node host's <see cref="NodeEvents"/>, as dockerd on a
/// manager makes them from swarmkit's store watch. A worker has no store, so no swarm events, as in docker.
/// </summary>
internal static class SwarmEventFeed
{
    private static readonly TimeSpan CatchUpPoll = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Runs until <paramref name="ct"/> (the member's end). What the store holds once this replica has caught up
    /// with a leader is taken as it is, not told as events: a restarted manager replays its log into the store, and
    /// those are old changes, not news. A snapshot that replaces the store is told as the changes it made.
    /// </summary>
    public static async Task RunAsync(SwarmStore store, RaftView raft, NodeEvents events, TimeProvider time, CancellationToken ct)
    {
        try
        {
            while (raft.LeaderId == 0 || !raft.CaughtUp)
            {
                await Task.Delay(CatchUpPoll, time, ct);
            }

            var tracker = new SwarmEventTracker();
            var first = true;
            while (!ct.IsCancellationRequested)
            {
                var current = store.Current;
                if (first)
                {
                    tracker.Seed(current);
                    first = false;
                }
                else
                {
                    tracker.Resync(current, time.GetUtcNow()).ForEach(events.Publish);
                }

                try
                {
                    await foreach (var change in store.Watch(current.Index, ct).ReadAllAsync(ct))
                    {
                        if (tracker.Apply(change, time.GetUtcNow()) is { } e)
                        {
                            events.Publish(e);
                        }
                    }
                }
                catch (StoreCompactedException)
                {
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
