namespace ProtoSwarm.Registry.Client;

/// <summary>
/// Which manager one pull or push speaks to: the first (the leader) until a request to it fails, then the
/// next, and that one for every later request, until a retry moves on again. A request never moves on by
/// itself: each manager's registry reads its own replica of the metadata, and a follower may not yet have
/// applied the blob link that the leader wrote a moment ago, so a manifest put (or a blob asked for) on
/// another manager than the one that took the blobs would be refused (MANIFEST_BLOB_UNKNOWN, BLOB_UNKNOWN)
/// though nothing is wrong. Staying on one manager reads what that manager wrote. Shared by the concurrent
/// requests of one pull (its layers), so a manager found down is left by all of them.
/// </summary>
public sealed class ManagerTurn
{
    private int _turn;

    /// <summary>
    /// The index, among <paramref name="count"/> managers (the leader first), of the one that attempt
    /// <paramref name="attempt"/> (1 for a request's first) goes to: where the last request went, one further on a retry.
    /// </summary>
    public int Pick(int attempt, int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var turn = attempt > 1 ? Interlocked.Increment(ref _turn) : Volatile.Read(ref _turn);
        return (int)((uint)turn % (uint)count);
    }
}
