using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace ProtoSwarm.Registry.Server;

/// <summary>
/// The error codes of the OCI distribution spec (and docker distribution's for pagination and server
/// faults): clients branch on the code, so each is spelled exactly as the spec does.
/// </summary>
public static class RegistryErrorCodes
{
    public const string BlobUnknown = "BLOB_UNKNOWN";
    public const string BlobUploadInvalid = "BLOB_UPLOAD_INVALID";
    public const string BlobUploadUnknown = "BLOB_UPLOAD_UNKNOWN";
    public const string DigestInvalid = "DIGEST_INVALID";
    public const string ManifestBlobUnknown = "MANIFEST_BLOB_UNKNOWN";
    public const string ManifestInvalid = "MANIFEST_INVALID";
    public const string ManifestUnknown = "MANIFEST_UNKNOWN";
    public const string NameInvalid = "NAME_INVALID";
    public const string NameUnknown = "NAME_UNKNOWN";
    public const string SizeInvalid = "SIZE_INVALID";
    public const string Unauthorized = "UNAUTHORIZED";
    public const string Denied = "DENIED";
    public const string Unsupported = "UNSUPPORTED";
    public const string TooManyRequests = "TOOMANYREQUESTS";

    /// <summary>docker distribution's 503: the registry cannot do it now (a push's blobs not yet on a majority of the managers).</summary>
    public const string Unavailable = "UNAVAILABLE";
    public const string PaginationNumberInvalid = "PAGINATION_NUMBER_INVALID";
    public const string Unknown = "UNKNOWN";
}

/// <summary>
/// A request the registry refuses: the HTTP status, the spec's code, a message for a person (what was
/// wrong, where, what to do) and an optional detail a tool may read (the digest, the range).
/// Thrown anywhere below a handler and turned into the spec's error body in one place.
/// </summary>
public sealed class RegistryException : Exception
{
    private static readonly JsonSerializerOptions DetailJson = new(JsonSerializerDefaults.Web);

    public RegistryException(int status, string code, string message, object? detail = null)
        : base(message)
    {
        Status = status;
        Code = code;
        Detail = detail;
    }

    public RegistryException()
        : this(StatusCodes.Status500InternalServerError, RegistryErrorCodes.Unknown, "registry error")
    {
    }

    public RegistryException(string message)
        : this(StatusCodes.Status500InternalServerError, RegistryErrorCodes.Unknown, message)
    {
    }

    public RegistryException(string message, Exception innerException)
        : base(message, innerException)
    {
        Status = StatusCodes.Status500InternalServerError;
        Code = RegistryErrorCodes.Unknown;
    }

    public int Status { get; }

    public string Code { get; }

    public object? Detail { get; }

    /// <summary>Extra response headers (a 416's Range: where the upload stands).</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    public static RegistryException NameInvalid(string name) => new(StatusCodes.Status400BadRequest, RegistryErrorCodes.NameInvalid,
        $"repository name '{name}' is invalid: use lowercase letters, digits and separators ('.', '_', '__', '-') in components split by '/', at most 255 characters (e.g. library/busybox)",
        new { name });

    public static RegistryException DigestInvalid(string digest, string where) => new(StatusCodes.Status400BadRequest, RegistryErrorCodes.DigestInvalid,
        $"{where}: '{digest}' is not a digest this registry accepts; write it as sha256:<64 lowercase hex digits>",
        new { digest });

    public static RegistryException BlobUnknown(string repository, string digest) => new(StatusCodes.Status404NotFound, RegistryErrorCodes.BlobUnknown,
        $"blob {digest} is not in repository '{repository}'; push it first (or mount it from a repository that has it)",
        new { digest });

    public static RegistryException UploadUnknown(string repository, string id) => new(StatusCodes.Status404NotFound, RegistryErrorCodes.BlobUploadUnknown,
        $"upload {id} of repository '{repository}' is unknown: it finished, was cancelled, expired or belongs to another repository; start a new one with POST /v2/{repository}/blobs/uploads/",
        new { uuid = id });

    public static RegistryException ManifestUnknown(string repository, string reference) => new(StatusCodes.Status404NotFound, RegistryErrorCodes.ManifestUnknown,
        $"manifest '{reference}' is not in repository '{repository}'; see its tags with GET /v2/{repository}/tags/list",
        new { reference });

    public static RegistryException NameUnknown(string repository) => new(StatusCodes.Status404NotFound, RegistryErrorCodes.NameUnknown,
        $"repository '{repository}' is not in this registry; push an image to it first, or list repositories with GET /v2/_catalog",
        new { name = repository });

    public static RegistryException ManifestInvalid(string message, object? detail = null) =>
        new(StatusCodes.Status400BadRequest, RegistryErrorCodes.ManifestInvalid, message, detail);

    /// <summary>The spec's error body, `{"errors":[{"code","message","detail"}]}`.</summary>
    public byte[] ToJson()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("errors");
            json.WriteStartObject();
            json.WriteString("code", Code);
            json.WriteString("message", Message);
            json.WritePropertyName("detail");
            JsonSerializer.Serialize(json, Detail, DetailJson);
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
