using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ProtoSwarm.Tests.Containers.Images;

/// <summary>
/// Images built at test time from the host's static busybox: a base layer (bin/busybox and its
/// applet links, etc/, a data/ directory) and a second layer that deletes etc/motd (a whiteout),
/// makes data/ opaque and adds a file, packed as a `docker save` archive or an OCI image layout.
/// </summary>
internal static class TestImages
{
    public const string Busybox = "/bin/busybox";
    public static readonly string[] Applets = ["sh", "echo", "sleep", "cat", "ls", "true", "false", "id"];
    public static readonly DateTimeOffset Time = new(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);

    public static byte[] BaseLayer() => Tar(w =>
    {
        AddDir(w, "bin/");
        AddDir(w, "etc/");
        AddDir(w, "data/");
        AddDir(w, "tmp/", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute | UnixFileMode.StickyBit);
        AddFile(w, "bin/busybox", System.IO.File.ReadAllBytes(Busybox), Exec);
        foreach (var applet in Applets)
        {
            w.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, "bin/" + applet) { LinkName = "busybox", ModificationTime = Time });
        }

        AddFile(w, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"u8.ToArray());
        AddFile(w, "etc/motd", "deleted by the second layer\n"u8.ToArray());
        AddFile(w, "data/old", "hidden by the opaque directory\n"u8.ToArray());
        AddFile(w, "data/owned", "x"u8.ToArray(), uid: 1000, gid: 1001);
        w.WriteEntry(new PaxTarEntry(TarEntryType.HardLink, "bin/busybox-hardlink") { LinkName = "bin/busybox", ModificationTime = Time });
    });

    public static byte[] TopLayer() => Tar(w =>
    {
        AddDir(w, "etc/");
        AddFile(w, "etc/.wh.motd", []);
        AddDir(w, "data/");
        AddFile(w, "data/.wh..wh..opq", []);
        AddFile(w, "data/new", "from the second layer\n"u8.ToArray());
        w.WriteEntry(new PaxTarEntry(TarEntryType.Fifo, "tmp/fifo") { Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite, ModificationTime = Time });
    });

    public static JsonObject Config(params byte[][] layers) => new()
    {
        ["architecture"] = "amd64",
        ["os"] = "linux",
        ["created"] = "2025-01-02T03:04:05Z",
        ["config"] = new JsonObject
        {
            ["Entrypoint"] = new JsonArray("/bin/sh", "-c"),
            ["Cmd"] = new JsonArray("echo hello"),
            ["Env"] = new JsonArray("PATH=/bin", "GREETING=hi"),
            ["WorkingDir"] = "/data",
            ["User"] = "nobody",
            ["ExposedPorts"] = new JsonObject { ["80/tcp"] = new JsonObject(), ["53/udp"] = new JsonObject() },
            ["Healthcheck"] = new JsonObject
            {
                ["Test"] = new JsonArray("CMD-SHELL", "true"),
                ["Interval"] = 5_000_000_000L,
                ["Timeout"] = 2_000_000_000L,
                ["StartPeriod"] = 1_000_000_000L,
                ["Retries"] = 3,
            },
            ["Labels"] = new JsonObject { ["org.example.role"] = "test" },
            ["StopSignal"] = "SIGQUIT",
        },
        ["rootfs"] = new JsonObject
        {
            ["type"] = "layers",
            ["diff_ids"] = new JsonArray([.. layers.Select(l => (JsonNode)Digest(l))]),
        },
    };

    /// <summary>A `docker save` archive (v1.2 layout): manifest.json, repositories, CONFIG.json, ID/layer.tar.</summary>
    public static byte[] DockerSave(string[] repoTags, byte[][]? layers = null, JsonObject? config = null, Action<Dictionary<string, byte[]>>? tamper = null)
    {
        layers ??= [BaseLayer(), TopLayer()];
        var configBytes = Encoding.UTF8.GetBytes((config ?? Config(layers)).ToJsonString());
        var configHex = Hex(configBytes);
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal) { [configHex + ".json"] = configBytes };
        var layerPaths = new JsonArray();
        foreach (var layer in layers)
        {
            var id = Hex(layer);
            files[$"{id}/layer.tar"] = layer;
            files[$"{id}/VERSION"] = "1.0"u8.ToArray();
            layerPaths.Add($"{id}/layer.tar");
        }

        files["manifest.json"] = Encoding.UTF8.GetBytes(new JsonArray(new JsonObject
        {
            ["Config"] = configHex + ".json",
            ["RepoTags"] = new JsonArray([.. repoTags.Select(t => (JsonNode)t)]),
            ["Layers"] = layerPaths,
        }).ToJsonString());
        files["repositories"] = "{}"u8.ToArray();
        tamper?.Invoke(files);
        return Tar(w =>
        {
            foreach (var (name, bytes) in files)
            {
                AddFile(w, name, bytes);
            }
        });
    }

    /// <summary>An OCI image layout: oci-layout, index.json (through an image index when asked), blobs/sha256, gzip layers when asked.</summary>
    public static byte[] OciLayout(string refName, bool gzip = true, bool throughIndex = true, byte[][]? layers = null, Action<Dictionary<string, byte[]>>? tamper = null)
    {
        layers ??= [BaseLayer(), TopLayer()];
        var blobs = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        string Put(byte[] bytes)
        {
            blobs["blobs/sha256/" + Hex(bytes)] = bytes;
            return Digest(bytes);
        }

        var configBytes = Encoding.UTF8.GetBytes(Config(layers).ToJsonString());
        var layerDescriptors = new JsonArray();
        foreach (var layer in layers)
        {
            var blob = gzip ? Gzip(layer) : layer;
            layerDescriptors.Add(new JsonObject
            {
                ["mediaType"] = gzip ? "application/vnd.oci.image.layer.v1.tar+gzip" : "application/vnd.oci.image.layer.v1.tar",
                ["digest"] = Put(blob),
                ["size"] = blob.Length,
            });
        }

        var manifest = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = "application/vnd.oci.image.manifest.v1+json",
            ["config"] = new JsonObject { ["mediaType"] = "application/vnd.oci.image.config.v1+json", ["digest"] = Put(configBytes), ["size"] = configBytes.Length },
            ["layers"] = layerDescriptors,
        }.ToJsonString());
        var top = new JsonObject { ["mediaType"] = "application/vnd.oci.image.manifest.v1+json", ["digest"] = Put(manifest), ["size"] = manifest.Length };
        if (throughIndex)
        {
            var index = Encoding.UTF8.GetBytes(new JsonObject
            {
                ["schemaVersion"] = 2,
                ["mediaType"] = "application/vnd.oci.image.index.v1+json",
                ["manifests"] = new JsonArray(
                    new JsonObject { ["mediaType"] = "application/vnd.oci.image.manifest.v1+json", ["digest"] = "sha256:" + new string('a', 64), ["size"] = 1, ["platform"] = new JsonObject { ["os"] = "linux", ["architecture"] = "arm64" } },
                    top.DeepClone().AsObject().Also(o => o["platform"] = new JsonObject { ["os"] = "linux", ["architecture"] = "amd64" })),
            }.ToJsonString());
            top = new JsonObject { ["mediaType"] = "application/vnd.oci.image.index.v1+json", ["digest"] = Put(index), ["size"] = index.Length };
        }

        top["annotations"] = new JsonObject { ["org.opencontainers.image.ref.name"] = refName };
        var files = new Dictionary<string, byte[]>(blobs, StringComparer.Ordinal)
        {
            ["oci-layout"] = "{\"imageLayoutVersion\":\"1.0.0\"}"u8.ToArray(),
            ["index.json"] = Encoding.UTF8.GetBytes(new JsonObject { ["schemaVersion"] = 2, ["manifests"] = new JsonArray(top) }.ToJsonString()),
        };
        tamper?.Invoke(files);
        return Tar(w =>
        {
            AddDir(w, "blobs/");
            AddDir(w, "blobs/sha256/");
            foreach (var (name, bytes) in files)
            {
                AddFile(w, name, bytes);
            }
        });
    }

    public static byte[] Tar(Action<TarWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new TarWriter(buffer, TarEntryFormat.Pax, leaveOpen: true))
        {
            write(writer);
        }

        return buffer.ToArray();
    }

    public static void AddDir(TarWriter w, string name, UnixFileMode? mode = null) =>
        w.WriteEntry(new PaxTarEntry(TarEntryType.Directory, name) { Mode = mode ?? Exec, ModificationTime = Time });

    public static void AddFile(TarWriter w, string name, byte[] bytes, UnixFileMode? mode = null, int uid = 0, int gid = 0) =>
        w.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name)
        {
            DataStream = new MemoryStream(bytes),
            Mode = mode ?? (UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead),
            Uid = uid,
            Gid = gid,
            ModificationTime = Time,
        });

    public static byte[] Gzip(byte[] bytes)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(bytes);
        }

        return buffer.ToArray();
    }

    public static string Digest(byte[] bytes) => "sha256:" + Hex(bytes);

    public static string Hex(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private const UnixFileMode Exec = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    private static JsonObject Also(this JsonObject o, Action<JsonObject> change)
    {
        change(o);
        return o;
    }
}
