using System.Formats.Tar;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace ProtoSwarm.Containers.Images;

/// <summary>One image of a save: its config and layer blobs for manifest.json, and the names it is saved under.</summary>
internal sealed record SavedImage(string ConfigDigest, IReadOnlyList<string> LayerDigests, IReadOnlyList<string> RepoTags);

/// <summary>One manifest of a save, as index.json lists it: once per full name, or once unnamed.</summary>
internal sealed record SavedManifest(string Digest, string MediaType, long Size, string? FullName, string? Tag);

/// <summary>
/// Writes what `docker save` writes (docker 25 and later): an OCI image layout (<c>oci-layout</c>,
/// <c>index.json</c>, <c>blobs/sha256/HEX</c>) with docker's <c>manifest.json</c> beside it, whose Config and
/// Layers name the same blobs. So the archive loads into docker (which reads manifest.json), into an OCI
/// tool (index.json), and back into a ProtoSwarm node. Every blob is written once, however many images share it.
/// </summary>
internal static class ImageArchiveWriter
{
    private const string IndexMediaType = "application/vnd.oci.image.index.v1+json";

    // docker's and containerd's JSON: '+' in a media type stays '+', not \u002B.
    private static readonly JsonWriterOptions Plain = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static async Task WriteAsync(
        Stream output,
        IReadOnlyList<SavedImage> images,
        IReadOnlyList<SavedManifest> manifests,
        Func<string, string> blobPath,
        DateTimeOffset now,
        CancellationToken ct)
    {
        await using var tar = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
        await DirectoryAsync(tar, "blobs/", now, ct);
        await DirectoryAsync(tar, "blobs/sha256/", now, ct);
        var written = new HashSet<string>(StringComparer.Ordinal);
        var blobs = manifests.Select(m => m.Digest)
            .Concat(images.SelectMany(i => i.LayerDigests.Prepend(i.ConfigDigest)));
        foreach (var digest in blobs)
        {
            if (!written.Add(digest))
            {
                continue;
            }

            var path = blobPath(digest);
            await using var data = File.OpenRead(path);
            var entry = new PaxTarEntry(TarEntryType.RegularFile, BlobName(digest))
            {
                DataStream = data,
                Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
                ModificationTime = now,
            };
            await tar.WriteEntryAsync(entry, ct);
        }

        await FileAsync(tar, "index.json", Index(manifests), now, ct);
        await FileAsync(tar, "manifest.json", Manifest(images), now, ct);
        await FileAsync(tar, "oci-layout", """{"imageLayoutVersion":"1.0.0"}"""u8.ToArray(), now, ct);
    }

    public static string BlobName(string digest) => "blobs/sha256/" + digest["sha256:".Length..];

    private static byte[] Index(IReadOnlyList<SavedManifest> manifests)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, Plain))
        {
            json.WriteStartObject();
            json.WriteNumber("schemaVersion", 2);
            json.WriteString("mediaType", IndexMediaType);
            json.WriteStartArray("manifests");
            foreach (var manifest in manifests)
            {
                json.WriteStartObject();
                json.WriteString("mediaType", manifest.MediaType);
                json.WriteString("digest", manifest.Digest);
                json.WriteNumber("size", manifest.Size);
                if (manifest.FullName is { } name)
                {
                    // containerd's and docker's names for the image and for the tag within the layout.
                    json.WriteStartObject("annotations");
                    json.WriteString("io.containerd.image.name", name);
                    json.WriteString("org.opencontainers.image.ref.name", manifest.Tag);
                    json.WriteEndObject();
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static byte[] Manifest(IReadOnlyList<SavedImage> images)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, Plain))
        {
            json.WriteStartArray();
            foreach (var image in images)
            {
                json.WriteStartObject();
                json.WriteString("Config", BlobName(image.ConfigDigest));
                json.WriteStartArray("RepoTags");
                foreach (var tag in image.RepoTags)
                {
                    json.WriteStringValue(tag);
                }

                json.WriteEndArray();
                json.WriteStartArray("Layers");
                foreach (var layer in image.LayerDigests)
                {
                    json.WriteStringValue(BlobName(layer));
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        return buffer.ToArray();
    }

    private static Task DirectoryAsync(TarWriter tar, string name, DateTimeOffset now, CancellationToken ct) =>
        tar.WriteEntryAsync(
            new PaxTarEntry(TarEntryType.Directory, name)
            {
                Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute,
                ModificationTime = now,
            },
            ct);

    private static async Task FileAsync(TarWriter tar, string name, byte[] content, DateTimeOffset now, CancellationToken ct)
    {
        using var data = new MemoryStream(content, writable: false);
        await tar.WriteEntryAsync(
            new PaxTarEntry(TarEntryType.RegularFile, name)
            {
                DataStream = data,
                Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
                ModificationTime = now,
            },
            ct);
    }
}
