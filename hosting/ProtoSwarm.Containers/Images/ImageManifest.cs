using System.Collections.Immutable;
using System.Text.Json;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Containers.Images;

/// <summary>The media types of images as registries and layouts write them (OCI image spec and Docker's v2 schema 2).</summary>
public static class MediaTypes
{
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string OciConfig = "application/vnd.oci.image.config.v1+json";
    public const string DockerConfig = "application/vnd.docker.container.image.v1+json";
    public const string OciLayer = "application/vnd.oci.image.layer.v1.tar";
    public const string OciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
    public const string DockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    public const string DockerForeignLayer = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

    public static bool IsManifest(string mediaType) => mediaType is OciManifest or DockerManifest;

    public static bool IsIndex(string mediaType) => mediaType is OciIndex or DockerList;

    /// <summary>What a registry's Accept header lists: every manifest and index this node reads.</summary>
    public static readonly ImmutableArray<string> Manifests = [OciManifest, OciIndex, DockerManifest, DockerList];

    /// <summary>
    /// The media type of a manifest document: the Content-Type it was served with, unless that is absent or
    /// generic JSON (older registries, files), then the document's own mediaType; a document without one is
    /// an OCI index when it lists manifests, else an OCI manifest (the field is optional in OCI).
    /// </summary>
    public static string Of(byte[] document, string? contentType)
    {
        if (contentType is { Length: > 0 } && contentType is not ("application/json" or "text/plain" or "application/octet-stream"))
        {
            return contentType;
        }

        try
        {
            using var json = JsonDocument.Parse(document);
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return contentType ?? string.Empty;
            }

            if (root.TryGetProperty("mediaType", out var m) && m.ValueKind == JsonValueKind.String)
            {
                return m.GetString()!;
            }

            return root.TryGetProperty("manifests", out _) ? OciIndex : OciManifest;
        }
        catch (JsonException)
        {
            return contentType ?? string.Empty;
        }
    }
}

/// <summary>A content descriptor as manifests and indexes write it; an index's entries also carry their platform.</summary>
public sealed record BlobDescriptor(string MediaType, string Digest, long Size, string? Os = null, string? Architecture = null)
{
    public string Platform => $"{Os ?? "?"}/{Architecture ?? "?"}";
}

/// <summary>
/// An image manifest (OCI or Docker v2 schema 2) as a node reads one: its config and layers, checked for
/// what this node can run, so a pull refuses an artifact, a Windows image or a zstd layer before it
/// downloads anything.
/// </summary>
public sealed record ImageManifest(string MediaType, BlobDescriptor Config, ImmutableArray<BlobDescriptor> Layers)
{
    /// <summary>
    /// Parses and checks a manifest served or stored as <paramref name="mediaType"/>; <paramref name="where"/>
    /// names it in errors (`manifest sha256:... of library/busybox`).
    /// </summary>
    public static ImageManifest Parse(byte[] document, string mediaType, string where)
    {
        if (!MediaTypes.IsManifest(mediaType))
        {
            throw ImageStoreException.Corrupt($"{where}: media type '{mediaType}' is not an image manifest this node reads ({MediaTypes.OciManifest} or {MediaTypes.DockerManifest})");
        }

        using var json = ParseJson(document, where);
        var root = json.RootElement;
        CheckDeclared(root, mediaType, where);
        if (!root.TryGetProperty("schemaVersion", out var v) || v.ValueKind != JsonValueKind.Number || v.GetInt32() != 2)
        {
            throw ImageStoreException.Corrupt($"{where}: schemaVersion is not 2; this node reads schema 2 manifests only (re-push the image with a current docker or skopeo)");
        }

        var config = root.TryGetProperty("config", out var c)
            ? Descriptor(c, $"{where}: the config")
            : throw ImageStoreException.Corrupt($"{where}: it has no config; it is corrupt");
        if (config.MediaType is not (MediaTypes.OciConfig or MediaTypes.DockerConfig))
        {
            throw ImageStoreException.Corrupt($"{where}: its config is '{config.MediaType}', so it is an artifact, not a container image; only images can be pulled to run");
        }

        var layers = ImmutableArray.CreateBuilder<BlobDescriptor>();
        if (root.TryGetProperty("layers", out var ls) && ls.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in ls.EnumerateArray())
            {
                var layer = Descriptor(item, $"{where}: layer {layers.Count + 1}");
                CheckLayerType(layer, layers.Count + 1, where);
                layers.Add(layer);
            }
        }
        else
        {
            throw ImageStoreException.Corrupt($"{where}: it has no layers list; it is corrupt");
        }

        return new ImageManifest(mediaType, config, layers.ToImmutable());
    }

    private static void CheckLayerType(BlobDescriptor layer, int number, string where)
    {
        var type = layer.MediaType;
        if (type.Contains("zstd", StringComparison.Ordinal))
        {
            throw ImageStoreException.Corrupt($"{where}: layer {number} ({layer.Digest}) is compressed with zstd ({type}), which this node does not read; push the image with gzip or uncompressed layers");
        }

        if (type == MediaTypes.DockerForeignLayer)
        {
            throw ImageStoreException.Corrupt($"{where}: layer {number} ({layer.Digest}) is a foreign layer (a Windows base image), which no registry holds and this node cannot run");
        }

        var known = type is MediaTypes.OciLayer or MediaTypes.OciLayerGzip or MediaTypes.DockerLayerGzip
            or "application/vnd.oci.image.layer.nondistributable.v1.tar" or "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
        if (!known)
        {
            throw ImageStoreException.Corrupt($"{where}: layer {number} ({layer.Digest}) has media type '{type}', which is not a layer this node unpacks (tar or tar+gzip)");
        }
    }

    internal static BlobDescriptor Descriptor(JsonElement element, string where)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw ImageStoreException.Corrupt($"{where}: the descriptor is not an object; the manifest is corrupt");
        }

        var mediaType = element.TryGetProperty("mediaType", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : string.Empty;
        var digest = element.TryGetProperty("digest", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString()! : string.Empty;
        if (!ImageReference.IsDigest(digest))
        {
            throw ImageStoreException.Corrupt($"{where}: digest '{digest}' is not a sha256 digest (sha256:<64 lowercase hex>); this node reads sha256 only");
        }

        if (!element.TryGetProperty("size", out var s) || s.ValueKind != JsonValueKind.Number || !s.TryGetInt64(out var size) || size < 0)
        {
            throw ImageStoreException.Corrupt($"{where}: the descriptor of {digest} has no valid size; the manifest is corrupt");
        }

        string? os = null, architecture = null;
        if (element.TryGetProperty("platform", out var p) && p.ValueKind == JsonValueKind.Object)
        {
            os = p.TryGetProperty("os", out var o) && o.ValueKind == JsonValueKind.String ? o.GetString() : null;
            architecture = p.TryGetProperty("architecture", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString() : null;
        }

        return new BlobDescriptor(mediaType, digest, size, os, architecture);
    }

    internal static JsonDocument ParseJson(byte[] document, string where)
    {
        try
        {
            var json = JsonDocument.Parse(document);
            if (json.RootElement.ValueKind != JsonValueKind.Object)
            {
                json.Dispose();
                throw ImageStoreException.Corrupt($"{where}: not a JSON object; it is corrupt");
            }

            return json;
        }
        catch (JsonException e)
        {
            throw ImageStoreException.Corrupt($"{where}: not valid JSON ({e.Message}); it is corrupt");
        }
    }

    /// <summary>A document that names its own media type must agree with the one it was served as (OCI image spec).</summary>
    internal static void CheckDeclared(JsonElement root, string mediaType, string where)
    {
        if (root.TryGetProperty("mediaType", out var declared) && declared.ValueKind == JsonValueKind.String && declared.GetString() != mediaType)
        {
            throw ImageStoreException.Corrupt($"{where}: it was served as '{mediaType}' but says it is '{declared.GetString()}'; the registry or the pushed image is inconsistent");
        }
    }
}

/// <summary>An image index (OCI) or manifest list (Docker): one manifest per platform.</summary>
public sealed record ImageIndex(string MediaType, ImmutableArray<BlobDescriptor> Manifests)
{
    public static ImageIndex Parse(byte[] document, string mediaType, string where)
    {
        if (!MediaTypes.IsIndex(mediaType))
        {
            throw ImageStoreException.Corrupt($"{where}: media type '{mediaType}' is not an image index ({MediaTypes.OciIndex} or {MediaTypes.DockerList})");
        }

        using var json = ImageManifest.ParseJson(document, where);
        var root = json.RootElement;
        ImageManifest.CheckDeclared(root, mediaType, where);
        if (!root.TryGetProperty("manifests", out var list) || list.ValueKind != JsonValueKind.Array)
        {
            throw ImageStoreException.Corrupt($"{where}: it has no manifests list; it is corrupt");
        }

        var manifests = ImmutableArray.CreateBuilder<BlobDescriptor>();
        foreach (var item in list.EnumerateArray())
        {
            manifests.Add(ImageManifest.Descriptor(item, $"{where}: entry {manifests.Count + 1}"));
        }

        return new ImageIndex(mediaType, manifests.ToImmutable());
    }

    /// <summary>The entry for linux/amd64, the platform this node runs; an entry without a platform does not count.</summary>
    public BlobDescriptor? LinuxAmd64 => Manifests.FirstOrDefault(m => m.Os == "linux" && m.Architecture == "amd64");
}
