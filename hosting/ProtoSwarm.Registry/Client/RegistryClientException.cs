using System.Net;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Registry.Client;

/// <summary>
/// A registry request that failed: the registry's answer (<see cref="Status"/> and the distribution spec's
/// error <see cref="Code"/>, such as MANIFEST_UNKNOWN or BLOB_UNKNOWN), a broken connection (no status), or
/// content that does not match its digest. The message names the registry, the repository and the digest or
/// tag, and says what to do.
/// </summary>
public sealed class RegistryClientException : Exception
{
    public RegistryClientException(string message, HttpStatusCode? status, string code, string registry, string repository, string? reference = null, Exception? inner = null)
        : base(message, inner)
    {
        Status = status;
        Code = code;
        Registry = registry;
        Repository = repository;
        Reference = reference;
    }

    /// <summary>The HTTP status the registry answered, or null when no answer came.</summary>
    public HttpStatusCode? Status { get; }

    /// <summary>The error code: the registry's own (distribution spec), or one of <see cref="Codes"/>.</summary>
    public string Code { get; }

    /// <summary>The registry's address (host:port).</summary>
    public string Registry { get; }

    public string Repository { get; }

    /// <summary>The tag or digest concerned, when there is one.</summary>
    public string? Reference { get; }

    /// <summary>
    /// Whether trying again may help: no answer (a refused or reset connection, a timeout), the registry
    /// failing (5xx), or asking to slow down (429). A 404 or a digest mismatch will not change, nor an
    /// UNAVAILABLE manifest put: the swarm registry has already waited its minute for a majority of the managers
    /// to hold the push's layers, and another attempt would only wait again; the user pushes again once the
    /// managers are back.
    /// </summary>
    public bool IsTransient => (Status is null && Code == Codes.Unreachable
        || Status is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout
        || (int?)Status >= 500) && Code != Codes.Unavailable;

    /// <summary>What the node's control socket replies with.</summary>
    public RejectCode Reject => Status switch
    {
        HttpStatusCode.NotFound => RejectCode.NotFound,
        HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => RejectCode.PermissionDenied,
        HttpStatusCode.BadRequest => RejectCode.InvalidArgument,
        _ when IsTransient || Code == Codes.Unavailable => RejectCode.Unavailable,
        _ when Code is Codes.DigestMismatch or Codes.Unsupported => RejectCode.InvalidArgument,
        _ => RejectCode.Internal,
    };

    /// <summary>Codes for failures the registry did not name itself.</summary>
    public static class Codes
    {
        public const string Unknown = "UNKNOWN";

        /// <summary>The registry's own 503 code: here, a push whose layers reached no majority of the managers in time.</summary>
        public const string Unavailable = "UNAVAILABLE";

        /// <summary>No answer: the connection was refused, reset or timed out.</summary>
        public const string Unreachable = "UNREACHABLE";

        /// <summary>Content that does not hash to the digest it was asked or served as.</summary>
        public const string DigestMismatch = "DIGEST_MISMATCH";

        /// <summary>A manifest or layer of a kind this node does not read.</summary>
        public const string Unsupported = "UNSUPPORTED";

        /// <summary>An answer that breaks the protocol (no Location on an upload, a range not asked for).</summary>
        public const string Protocol = "PROTOCOL";
    }
}
