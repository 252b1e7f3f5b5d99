using Microsoft.AspNetCore.Http;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Registry.Server;

/// <summary>What a caller may do with the registry. Push includes pull.</summary>
public enum RegistryAccess
{
    None = 0,
    Pull = 1,
    Push = 2,
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
/// Other replicas of the registry (the other managers): a blob this one lacks is fetched from them the
/// first time it is asked for. The default has none.
/// </summary>
public interface IBlobPeers
{
    /// <summary>Copies the blob into <paramref name="destination"/>; false when no peer has it. The caller checks the digest.</summary>
    Task<bool> FetchAsync(string repository, string digest, Stream destination, CancellationToken ct);
}
