using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using ProtoSwarm.Contracts;
using ProtoSwarm.Persistence;

namespace ProtoSwarm.Actors.Store;

/// <summary>
/// The single-manager proposer: proposals queue up, and one writer loop commits everything queued
/// in ONE SQLite transaction (one fsync for the lot), then publishes the new state. A stale
/// proposal is refused alone; the others in its batch still commit.
/// </summary>
public sealed partial class LocalProposer : IProposer, IAsyncDisposable
{
    private const int MaxBatch = 512;

    private readonly SwarmStore _store;
    private readonly ObjectStoreFile _file;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _loop;

    private LocalProposer(SwarmStore store, ObjectStoreFile file, TimeProvider time, ILogger logger)
    {
        _store = store;
        _file = file;
        _time = time;
        _logger = logger;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Opens (or creates) the store file and loads the store from it.</summary>
    public static (SwarmStore Store, LocalProposer Proposer) Open(string path, TimeProvider time, ILogger logger)
    {
        var file = new ObjectStoreFile(path);
        try
        {
            var (index, objects) = file.Load();
            var store = new SwarmStore(StoreState.Restore(index, objects));
            return (store, new LocalProposer(store, file, time, logger));
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public Task<ulong> ProposeAsync(IReadOnlyList<StoreChange> changes, CancellationToken ct = default)
    {
        var pending = new Pending(changes, new TaskCompletionSource<ulong>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_queue.Writer.TryWrite(pending))
        {
            throw new ObjectDisposedException(nameof(LocalProposer), "The store is shutting down");
        }

        return pending.Done.Task.WaitAsync(ct);
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
        _file.Dispose();
    }

    private async Task RunAsync()
    {
        var batch = new List<Pending>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var p))
            {
                batch.Add(p);
            }

            CommitBatch(batch);
        }
    }

    private void CommitBatch(List<Pending> batch)
    {
        var state = _store.Current;
        var now = _time.GetUtcNow();
        var accepted = new List<(Pending Pending, ulong Index)>(batch.Count);
        var events = new List<StoreEvent>();
        foreach (var pending in batch)
        {
            try
            {
                state = state.Apply(state.Index + 1, pending.Changes, now, out var applied);
                events.AddRange(applied);
                accepted.Add((pending, state.Index));
            }
            catch (Exception e) when (e is StoreConflictException or ArgumentException)
            {
                pending.Done.TrySetException(e);
            }
        }

        if (accepted.Count == 0)
        {
            return;
        }

        try
        {
            var touched = events
                .Select(e => (e.Kind, e.Id))
                .Distinct()
                .Select(k => (k.Kind, k.Id, Object: FindCurrent(k.Kind, k.Id, events)));
            _file.WriteBatch(state.Index, touched);
        }
        catch (Exception e)
        {
            LogCommitFailed(_logger, e, accepted.Count);
            foreach (var (pending, _) in accepted)
            {
                pending.Done.TrySetException(new InvalidOperationException($"The store could not be written: {e.Message}", e));
            }

            return;
        }

        _store.Publish(state, events);
        foreach (var (pending, index) in accepted)
        {
            pending.Done.TrySetResult(index);
        }
    }

    private static IStoreObject? FindCurrent(string kind, string id, List<StoreEvent> events)
    {
        var last = events.FindLast(e => e.Kind == kind && e.Id == id)!;
        return last.Action == StoreEventKind.Deleted ? null : last.Object;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Committing {Count} proposals to the store failed")]
    private static partial void LogCommitFailed(ILogger logger, Exception e, int count);

    private sealed record Pending(IReadOnlyList<StoreChange> Changes, TaskCompletionSource<ulong> Done);
}
