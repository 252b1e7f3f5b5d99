using Proto;
using Proto.Timers;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Orchestration.Actors;

/// <summary>How the orchestration actors write: large sets of independent changes in parts, all sent at once.</summary>
internal static class Proposals
{
    /// <summary>
    /// Changes per proposal. A thousand new tasks in one entry would be one large Raft message; in
    /// parts of this size they travel in the same burst (the proposer batches them) and a conflict
    /// in one part costs only that part. Every caller decides again from the store after writing, so a
    /// part that failed is redone on fresh data.
    /// </summary>
    public const int PartSize = 256;

    /// <summary>Writes the changes in parts; true when every part was stored, false when one was stale.</summary>
    public static async Task<bool> ProposeInPartsAsync(IProposer proposer, IReadOnlyList<StoreChange> changes)
    {
        if (changes.Count == 0)
        {
            return true;
        }

        var parts = changes.Chunk(PartSize).Select(part => StoreAsync(proposer, part)).ToList();
        var results = await Task.WhenAll(parts).ConfigureAwait(false);
        return results.All(stored => stored);
    }

    /// <summary>
    /// Writes one decision about <paramref name="guard"/>'s objects in parts, each part conditional on the
    /// guard (a service) still being the version the decision read: a decision that took a while (a scale
    /// to many thousands of tasks) can no longer write tasks for a service removed or changed meanwhile.
    /// When the decision changes the guard itself (its first change), that part goes first, alone, and the
    /// others then expect the version it made. True when every part was stored.
    /// </summary>
    public static async Task<bool> ProposeGuardedAsync<T>(IProposer proposer, T guard, IReadOnlyList<StoreChange> changes)
        where T : IStoreObject, IStoreKind
    {
        if (changes.Count == 0)
        {
            return true;
        }

        var expect = (ExpectObject)StoreChange.Expect(guard);
        var rest = changes;
        if (changes[0] is UpdateObject { } own && own.Kind == expect.Kind && own.Id == expect.Id)
        {
            var first = changes.Take(PartSize).ToArray();
            ulong index;
            try
            {
                index = await proposer.ProposeAsync(first).ConfigureAwait(false);
            }
            catch (StoreConflictException)
            {
                return false;
            }

            // An object written at an index has that index as its version.
            expect = expect with { ExpectedVersion = index };
            rest = [.. changes.Skip(PartSize)];
        }

        var parts = rest.Chunk(PartSize).Select(part => StoreAsync(proposer, [expect, .. part])).ToList();
        var results = await Task.WhenAll(parts).ConfigureAwait(false);
        return results.All(stored => stored);
    }

    private static async Task<bool> StoreAsync(IProposer proposer, StoreChange[] part)
    {
        try
        {
            await proposer.ProposeAsync(part).ConfigureAwait(false);
            return true;
        }
        catch (StoreConflictException)
        {
            return false;
        }
    }
}

/// <summary>
/// One decision at a time for an orchestration actor: a request while a decision runs is folded
/// into one more run after it. A decision that failed is tried again after a second; what to do
/// after one that succeeded is the actor's (told whether more was asked meanwhile).
/// </summary>
internal sealed class OneAtATime<T>(TimeProvider time, Action<Exception?> logFailure)
{
    private static readonly TimeSpan RetryAfterFailure = TimeSpan.FromSeconds(1);

    private bool _running;
    private bool _again;

    public void Run(IContext context, Func<Task<T>> decide, Action<T, bool> decided)
    {
        if (_running)
        {
            _again = true;
            return;
        }

        _running = true;
        _again = false;
        context.ReenterAfter(decide(), task =>
        {
            _running = false;
            if (task.IsCompletedSuccessfully)
            {
                decided(task.Result, _again);
            }
            else
            {
                logFailure(task.Exception?.GetBaseException());
                context.Scheduler(time).SendOnce(RetryAfterFailure, context.Self, Reconsider.Instance);
            }

            return Task.CompletedTask;
        });
    }
}

/// <summary>Asks an orchestration actor to decide again from the store.</summary>
internal sealed record Reconsider
{
    public static readonly Reconsider Instance = new();
}
