using System.Globalization;
using System.Text.Json;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Registry.Server;

/// <summary>A peer's ask to hold blobs of a repository now (a push waits for a majority of the managers to).</summary>
internal sealed record PeerCopyRequest(string Repository, IReadOnlyList<string> Digests);

/// <summary>A peer's ask to sweep its disk as a garbage collection just swept the asking manager's.</summary>
internal sealed record PeerSweepRequest(TimeSpan Grace, IReadOnlyList<string> Unlinked);

/// <summary>
/// The two requests managers make of each other's registries besides the peer fetch of a blob: both under
/// `/v2/_protoswarm/`, which no repository name can reach (a name's components start with a letter or digit), both
/// POSTs and so needing push access (a manager's certificate; a worker's may only pull). Small JSON bodies written
/// and read by hand, as the rest of the server's JSON is.
/// </summary>
internal static class PeerProtocol
{
    /// <summary>POST {"repository", "digests": [...]}: fetch those lacking, answer {"held": [...]}.</summary>
    public const string CopyPath = "_protoswarm/copy";

    /// <summary>POST {"graceSeconds", "unlinked": [...]}: sweep the disk, answer {"blobFiles", "bytes", "uploads"}.</summary>
    public const string SweepPath = "_protoswarm/sweep";

    /// <summary>More digests than any image has; a body beyond it is refused.</summary>
    public const int MaxDigests = 10_000;

    public const long MaxBodyBytes = 1024 * 1024;

    public static byte[] Copy(string repository, IEnumerable<string> digests) => Write(w =>
    {
        w.WriteString("repository", repository);
        WriteArray(w, "digests", digests);
    });

    public static byte[] Sweep(TimeSpan grace, IEnumerable<string> unlinked) => Write(w =>
    {
        w.WriteNumber("graceSeconds", (long)Math.Ceiling(grace.TotalSeconds));
        WriteArray(w, "unlinked", unlinked);
    });

    public static byte[] Held(IEnumerable<string> held) => Write(w => WriteArray(w, "held", held));

    public static byte[] Swept(DiskSweep sweep) => Write(w =>
    {
        w.WriteNumber("blobFiles", sweep.BlobFiles);
        w.WriteNumber("bytes", sweep.Bytes);
        w.WriteNumber("uploads", sweep.Uploads);
    });

    /// <summary>The copy request in <paramref name="body"/>, or a message saying what is wrong with it.</summary>
    public static PeerCopyRequest ReadCopy(byte[] body)
    {
        using var document = Parse(body);
        var root = document.RootElement;
        var repository = root.TryGetProperty("repository", out var name) && name.ValueKind == JsonValueKind.String ? name.GetString()! : string.Empty;
        if (!ImageReference.IsRepositoryPath(repository))
        {
            throw RegistryException.NameInvalid(repository);
        }

        return new PeerCopyRequest(repository, Digests(root, "digests"));
    }

    public static PeerSweepRequest ReadSweep(byte[] body)
    {
        using var document = Parse(body);
        var root = document.RootElement;
        if (!root.TryGetProperty("graceSeconds", out var grace) || !grace.TryGetInt64(out var seconds) || seconds < 0)
        {
            throw Invalid("a sweep needs graceSeconds, a whole number of seconds >= 0");
        }

        return new PeerSweepRequest(TimeSpan.FromSeconds(seconds), Digests(root, "unlinked"));
    }

    /// <summary>The digests a peer's answer to a copy says it holds (empty when the answer is not one).</summary>
    public static HashSet<string> ReadHeld(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object
                   && document.RootElement.TryGetProperty("held", out var held) && held.ValueKind == JsonValueKind.Array
                ? new HashSet<string>(held.EnumerateArray().Where(d => d.ValueKind == JsonValueKind.String).Select(d => d.GetString()!), StringComparer.Ordinal)
                : [];
        }
        catch (JsonException)
        {
            return [];
        }
    }

    private static JsonDocument Parse(byte[] body)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException e)
        {
            throw Invalid($"the body is not JSON ({e.Message})");
        }

        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            throw Invalid("the body is not a JSON object");
        }

        return document;
    }

    private static List<string> Digests(JsonElement root, string property)
    {
        if (!root.TryGetProperty(property, out var array) || array.ValueKind != JsonValueKind.Array || array.GetArrayLength() > MaxDigests)
        {
            throw Invalid($"'{property}' must be a list of at most {MaxDigests.ToString(CultureInfo.InvariantCulture)} digests");
        }

        var digests = new List<string>();
        foreach (var item in array.EnumerateArray())
        {
            var digest = item.ValueKind == JsonValueKind.String ? item.GetString()! : string.Empty;
            digests.Add(ImageReference.IsDigest(digest) ? digest : throw RegistryException.DigestInvalid(digest, $"'{property}' of a request between managers"));
        }

        return [.. digests.Distinct(StringComparer.Ordinal)];
    }

    private static RegistryException Invalid(string what) =>
        new(Microsoft.AspNetCore.Http.StatusCodes.Status400BadRequest, RegistryErrorCodes.Unsupported,
            $"a request between managers' registries was refused: {what}; it is sent by another manager, whose version may differ from this one's");

    private static byte[] Write(Action<Utf8JsonWriter> body)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            body(json);
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static void WriteArray(Utf8JsonWriter json, string name, IEnumerable<string> items)
    {
        json.WriteStartArray(name);
        foreach (var item in items)
        {
            json.WriteStringValue(item);
        }

        json.WriteEndArray();
    }
}
