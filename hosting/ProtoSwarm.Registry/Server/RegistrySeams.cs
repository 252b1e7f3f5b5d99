using Microsoft.AspNetCore.Http;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Registry.Server;

/// <summary>What a caller may do with the registry. Each level includes the ones below it.</summary>
public enum RegistryAccess
{
    None = 0,
    Pull = 1,
    Push = 2,

    /// <summary>Another manager of the swarm (its node certificate): besides pushing, the peer routes (copy, sweep).</summary>
    Manager = 3,
}

/// <summary>
/// The registry's metadata: repositories with their tags, manifests and linked blobs. On managers it is
/// the Raft store (every manager sees every push); tests use <see cref="InMemoryRegistryMetadata"/>.
/// </summary>
public interface IRegistryMetadata
{
    /// <summary>A repository by its path, or null.</summary>
    ValueTask<RepositoryObject?> GetAsync(string repository, CancellationToken ct);

    /// <summary>Every repository's path, sorted (ordinal).</summary>
    ValueTask<IReadOnlyList<string>> RepositoriesAsync(CancellationToken ct);

    /// <summary>
    /// Changes a repository atomically: <paramref name="change"/> gets the current object (null when there is
    /// none) and returns the new one, or null to delete it. It may be called again after a concurrent change
    /// (a conditional write refused), so it must be a pure function of its argument. Returns what was stored.
    /// </summary>
    ValueTask<RepositoryObject?> UpdateAsync(string repository, Func<RepositoryObject?, RepositoryObject?> change, CancellationToken ct);
}

/// <summary>Who the caller of a request is, and what it may do (mutual TLS roles, or basic auth on the plain listener).</summary>
public interface IRegistryAuthorizer
{
    RegistryAccess Authorize(HttpContext http);

    /// <summary>The WWW-Authenticate header of a 401 (e.g. `Basic realm="protoswarm"`), or null when credentials cannot help (mTLS).</summary>
    string? Challenge { get; }
}

/// <summary>
/// Other replicas of the registry (the other managers): a blob this one lacks is fetched from them, a push waits
/// until a majority of the managers hold its blobs (<see cref="CopyAsync"/>), and a garbage collection asks them to
/// sweep their disks too. The default has none.
/// </summary>
public interface IBlobPeers
{
    /// <summary>How many other managers there are, up or not: with this one, the set a push needs a majority of.</summary>
    int Count { get; }

    /// <summary>Copies the blob into <paramref name="destination"/>; false when no peer has it. The caller checks the digest.</summary>
    Task<bool> FetchAsync(string repository, string digest, Stream destination, CancellationToken ct);

    /// <summary>
    /// Asks every peer at once to hold these blobs of the repository now: each fetches those it lacks (from this
    /// manager or another, verified as every peer fetch is) and answers which it holds; one that cannot yet is asked
    /// again after a growing delay. Returns how many peers hold them all once <paramref name="needed"/> of them do,
    /// or when <paramref name="ct"/> ends (then the count reached so far; it does not throw).
    /// </summary>
    Task<int> CopyAsync(string repository, IReadOnlyList<string> digests, int needed, CancellationToken ct);

    /// <summary>
    /// Asks every peer at once to sweep its disk of the blob files no repository links that are older than
    /// <paramref name="grace"/> (what a garbage collection just did here), once its replica no longer links
    /// <paramref name="unlinked"/>. Returns how many peers swept.
    /// </summary>
    Task<int> SweepAsync(TimeSpan grace, IReadOnlyList<string> unlinked, CancellationToken ct);
}
