using System.Collections.Concurrent;

namespace ProtoSwarm.Actors.Raft;

/// <summary>
/// The thread a leading <see cref="RaftActor"/> writes its Readies on while the appends it has just
/// handed to Proto.Remote travel to the followers. Not a pool worker: Proto.Remote's endpoint takes
/// several pool work items between a send and the socket (its channel, the batch, gRPC's HTTP/2
/// stream), and a write queued to the pool among them ran first on the one awake worker in 6 writes
/// of 10 at one writer, so the appends left only after the leader's fsync (docs/benchmarks.md,
/// issue 3). One thread per actor, started on the first write and sleeping between writes; the
/// actor waits for each write it hands over, so the writes never overlap.
/// </summary>
internal sealed class RaftLeaderWriter : IDisposable
{
    private readonly BlockingCollection<(Action Write, TaskCompletionSource Done)> _writes = new();
    private readonly Thread _thread;

    public RaftLeaderWriter(ulong raftId)
    {
        _thread = new Thread(Run) { IsBackground = true, Name = $"raft-{raftId}-leader-write" };
        _thread.Start();
    }

    /// <summary>Runs <paramref name="write"/> on this writer's thread; the task completes when it has returned (or throws what it threw).</summary>
    public Task WriteAsync(Action write)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            _writes.Add((write, done));
        }
        catch (InvalidOperationException)
        {
            done.SetException(new ObjectDisposedException(nameof(RaftLeaderWriter), "The Raft actor is stopping; the write was not made."));
        }

        return done.Task;
    }

    public void Dispose() => _writes.CompleteAdding();

    private void Run()
    {
        foreach (var (write, done) in _writes.GetConsumingEnumerable())
        {
            try
            {
                write();
                done.SetResult();
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        }

        _writes.Dispose();
    }
}
