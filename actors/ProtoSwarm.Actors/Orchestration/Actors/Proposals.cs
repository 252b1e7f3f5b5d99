using ProtoSwarm.Actors.Store;

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

/// <summary>Asks an orchestration actor to decide again from the store.</summary>
internal sealed record Reconsider
{
    public static readonly Reconsider Instance = new();
}
