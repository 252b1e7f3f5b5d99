using System.Text.Json;
using System.Text.RegularExpressions;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Containers.Images;

/// <summary>One layer of an image to store: its blob as staged, and the diff id its config declares.</summary>
internal sealed record PlannedLayer(StagedFile Blob, string MediaType, string DiffId);

/// <summary>One image an archive holds, checked and ready to store.</summary>
internal sealed record PlannedImage(
    byte[] Config,
    string ConfigDigest,
    ImageConfig Parsed,
    byte[]? Manifest,
    IReadOnlyList<PlannedLayer> Layers,
    IReadOnlyList<ImageReference> Names);

/// <summary>
/// Reads a staged archive as a `docker save` archive (manifest.json) or an OCI image layout
/// (oci-layout + index.json) and checks every digest it can before anything is stored.
/// </summary>
internal static partial class ArchiveReader
{
    public const string OciManifest = MediaTypes.OciManifest;
    public const string OciIndex = MediaTypes.OciIndex;
    public const string DockerManifest = MediaTypes.DockerManifest;
    public const string DockerList = MediaTypes.DockerList;
    public const string OciConfig = MediaTypes.OciConfig;
    public const string LayerTar = MediaTypes.OciLayer;
    public const string LayerGzip = MediaTypes.OciLayerGzip;

    public static IReadOnlyList<PlannedImage> Plan(Staging staging)
    {
        if (staging.Contains("manifest.json"))
        {
            return DockerSave(staging);
        }

        if (staging.Contains("oci-layout") || staging.Contains("index.json"))
        {
            return OciLayout(staging);
        }

        var seen = string.Join(", ", staging.Names.Take(5));
        throw ImageStoreException.Corrupt(
            $"the archive is neither a `docker save` archive (no manifest.json at its top) nor an OCI image layout (no oci-layout and index.json); it holds {(seen.Length == 0 ? "no files" : seen)}. Give a file made by `docker save`, or use `image import` for a root filesystem tar");
    }

    private static List<PlannedImage> DockerSave(Staging staging)
    {
        var images = new List<PlannedImage>();
        using var manifest = Json(staging.ReadAll("manifest.json", "the manifest"), "manifest.json");
        if (manifest.RootElement.ValueKind != JsonValueKind.Array || manifest.RootElement.GetArrayLength() == 0)
        {
            throw ImageStoreException.Corrupt("manifest.json: expected a list of images ([{\"Config\", \"RepoTags\", \"Layers\"}]); the archive is not a `docker save` archive or is corrupt");
        }

        foreach (var item in manifest.RootElement.EnumerateArray())
        {
            var configName = String(item, "Config", "manifest.json");
            var config = staging.ReadAll(configName, "the image config");
            var configDigest = staging.Get(configName, "the image config").Digest;
            // The config's name is its digest ("<hex>.json" or "blobs/sha256/<hex>"): check it.
            var named = HexName().Match(configName);
            named = named.Success ? named : BlobName().Match(configName);
            if (named.Success && "sha256:" + named.Groups[1].Value != configDigest)
            {
                throw Mismatch(configName, "sha256:" + named.Groups[1].Value, configDigest);
            }

            var parsed = ImageConfig.Parse(config, configName);
            var layerNames = item.TryGetProperty("Layers", out var l) && l.ValueKind == JsonValueKind.Array
                ? l.EnumerateArray().Select(e => e.GetString() ?? string.Empty).ToList()
                : throw ImageStoreException.Corrupt($"manifest.json: the image {configName} has no Layers list");
            var layers = new List<PlannedLayer>();
            foreach (var layerName in layerNames)
            {
                var blob = staging.Get(layerName, "the layer");
                var layerNamed = BlobName().Match(layerName);
                if (layerNamed.Success && "sha256:" + layerNamed.Groups[1].Value != blob.Digest)
                {
                    throw Mismatch(layerName, "sha256:" + layerNamed.Groups[1].Value, blob.Digest);
                }

                layers.Add(new PlannedLayer(blob, IsGzip(blob) ? LayerGzip : LayerTar, string.Empty));
            }

            var names = item.TryGetProperty("RepoTags", out var tags) && tags.ValueKind == JsonValueKind.Array
                ? tags.EnumerateArray().Select(t => ImageStoreException.ParseName(t.GetString() ?? string.Empty)).ToList()
                : [];
            images.Add(new PlannedImage(config, configDigest, parsed, null, layers, names));
        }

        return images;
    }

    private static List<PlannedImage> OciLayout(Staging staging)
    {
        if (!staging.Contains("oci-layout"))
        {
            throw ImageStoreException.Corrupt("the archive has index.json but no oci-layout file; it is not an OCI image layout");
        }

        using (var layout = Json(staging.ReadAll("oci-layout", "the layout marker"), "oci-layout"))
        {
            var version = layout.RootElement.ValueKind == JsonValueKind.Object && layout.RootElement.TryGetProperty("imageLayoutVersion", out var v) ? v.GetString() : null;
            if (version != "1.0.0")
            {
                throw ImageStoreException.Corrupt($"oci-layout: imageLayoutVersion is '{version}', not 1.0.0; this node reads OCI image layout 1.0.0");
            }
        }

        var images = new List<PlannedImage>();
        using var index = Json(staging.ReadAll("index.json", "the index"), "index.json");
        if (!index.RootElement.TryGetProperty("manifests", out var manifests) || manifests.ValueKind != JsonValueKind.Array)
        {
            throw ImageStoreException.Corrupt("index.json: no manifests list; the layout is corrupt");
        }

        foreach (var descriptor in manifests.EnumerateArray())
        {
            var names = new List<ImageReference>();
            if (Annotation(descriptor, "io.containerd.image.name") is { } full)
            {
                names.Add(ImageStoreException.ParseName(full));
            }
            else if (Annotation(descriptor, "org.opencontainers.image.ref.name") is { } refName && (refName.Contains(':', StringComparison.Ordinal) || refName.Contains('/', StringComparison.Ordinal)))
            {
                // A bare tag ("latest") names no repository; a full reference does.
                names.Add(ImageStoreException.ParseName(refName));
            }

            var image = FromDescriptor(staging, descriptor, names, depth: 0);
            if (image is not null)
            {
                images.Add(image);
            }
        }

        return images.Count > 0
            ? images
            : throw ImageStoreException.Corrupt("index.json lists no image for linux/amd64; this node runs linux/amd64 images");
    }

    private static PlannedImage? FromDescriptor(Staging staging, JsonElement descriptor, List<ImageReference> names, int depth)
    {
        var (bytes, digest) = Blob(staging, descriptor, "manifest", 4 << 20);
        using var document = Json(bytes.Blob, digest);
        var root = document.RootElement;
        var mediaType = descriptor.TryGetProperty("mediaType", out var m) ? m.GetString() : null;
        mediaType ??= root.TryGetProperty("mediaType", out var inner) ? inner.GetString() : null;
        if (mediaType is OciIndex or DockerList || (mediaType is null && root.TryGetProperty("manifests", out _)))
        {
            if (depth > 2)
            {
                throw ImageStoreException.Corrupt($"{digest}: image indexes nested too deep");
            }

            foreach (var child in root.GetProperty("manifests").EnumerateArray())
            {
                if (IsLinuxAmd64(child))
                {
                    return FromDescriptor(staging, child, names, depth + 1);
                }
            }

            return null;
        }

        if (mediaType is not (OciManifest or DockerManifest) && !(mediaType is null && root.TryGetProperty("layers", out _)))
        {
            throw ImageStoreException.Corrupt($"{digest}: media type '{mediaType}' is not an image manifest or index this node reads");
        }

        var configDescriptor = root.TryGetProperty("config", out var c) ? c : throw ImageStoreException.Corrupt($"manifest {digest}: no config");
        var (config, configDigest) = Blob(staging, configDescriptor, "image config", 16 << 20);
        var parsed = ImageConfig.Parse(config.Blob, configDigest);
        var layers = new List<PlannedLayer>();
        foreach (var layer in root.TryGetProperty("layers", out var ls) ? ls.EnumerateArray() : default)
        {
            var layerType = layer.TryGetProperty("mediaType", out var lt) ? lt.GetString() ?? string.Empty : string.Empty;
            if (layerType.Contains("zstd", StringComparison.Ordinal))
            {
                throw ImageStoreException.Corrupt($"manifest {digest}: a layer is compressed with zstd ({layerType}), which this node does not read; save the image with gzip or uncompressed layers");
            }

            var (blob, _) = Blob(staging, layer, "layer", long.MaxValue, readAll: false);
            layers.Add(new PlannedLayer(blob.File, layerType.Length == 0 ? (IsGzip(blob.File) ? LayerGzip : LayerTar) : layerType, string.Empty));
        }

        return new PlannedImage(config.Blob, configDigest, parsed, bytes.Blob, layers, names);
    }

    private static bool IsLinuxAmd64(JsonElement descriptor) =>
        !descriptor.TryGetProperty("platform", out var p)
        || (p.TryGetProperty("os", out var os) && os.GetString() == "linux" && p.TryGetProperty("architecture", out var arch) && arch.GetString() == "amd64");

    /// <summary>A descriptor's blob, checked against the descriptor's digest and size.</summary>
    private static ((byte[] Blob, StagedFile File), string Digest) Blob(Staging staging, JsonElement descriptor, string what, long limit, bool readAll = true)
    {
        var digest = descriptor.TryGetProperty("digest", out var d) ? d.GetString() ?? string.Empty : string.Empty;
        var match = DigestPattern().Match(digest);
        if (!match.Success)
        {
            throw ImageStoreException.Corrupt($"a {what} descriptor has digest '{digest}'; this node reads sha256 digests (sha256:<64 hex>)");
        }

        var path = "blobs/sha256/" + match.Groups[1].Value;
        var file = staging.Get(path, "the " + what);
        if (file.Digest != digest)
        {
            throw Mismatch(path, digest, file.Digest);
        }

        if (descriptor.TryGetProperty("size", out var s) && s.ValueKind == JsonValueKind.Number && s.GetInt64() != file.Size)
        {
            throw ImageStoreException.Corrupt($"{path}: the descriptor says {s.GetInt64()} bytes but the blob has {file.Size}; the archive is corrupt, nothing was stored");
        }

        return ((readAll ? staging.ReadAll(path, "the " + what, limit) : [], file), digest);
    }

    internal static ImageStoreException Mismatch(string where, string expected, string actual) =>
        ImageStoreException.Corrupt($"{where}: digest mismatch, expected {expected} but the content hashes to {actual}; the archive is corrupt or was altered, nothing was stored");

    private static bool IsGzip(StagedFile file)
    {
        using var stream = File.OpenRead(file.Path);
        return stream.ReadByte() == 0x1f && stream.ReadByte() == 0x8b;
    }

    private static string? Annotation(JsonElement descriptor, string key) =>
        descriptor.TryGetProperty("annotations", out var a) && a.ValueKind == JsonValueKind.Object && a.TryGetProperty(key, out var v) ? v.GetString() : null;

    private static string String(JsonElement item, string name, string where) =>
        item.ValueKind == JsonValueKind.Object && item.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()!
            : throw ImageStoreException.Corrupt($"{where}: an entry has no {name}");

    private static JsonDocument Json(byte[] bytes, string where)
    {
        try
        {
            return JsonDocument.Parse(bytes);
        }
        catch (JsonException e)
        {
            throw ImageStoreException.Corrupt($"{where}: not valid JSON ({e.Message}); the archive is corrupt");
        }
    }

    [GeneratedRegex("^sha256:([a-f0-9]{64})$")]
    private static partial Regex DigestPattern();

    [GeneratedRegex("(?:^|/)([a-f0-9]{64})\\.json$")]
    private static partial Regex HexName();

    [GeneratedRegex("^blobs/sha256/([a-f0-9]{64})$")]
    private static partial Regex BlobName();
}
