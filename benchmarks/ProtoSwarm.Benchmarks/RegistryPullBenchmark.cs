using System.Diagnostics;
using System.Formats.Tar;
using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using ProtoSwarm.Containers.Images;
using ProtoSwarm.Contracts;
using ProtoSwarm.Registry.Client;
using ProtoSwarm.Registry.Server;

namespace ProtoSwarm.Benchmarks;

/// <summary>
/// A ~100 MB image (4 gzip layers of seeded random, so incompressible, file contents, made at run time)
/// pulled by 3 "nodes" at once: ProtoSwarm's <see cref="RegistryServer"/> on a <see cref="RegistryHost"/>
/// (plain HTTP, and TLS with a self-signed certificate) against Debian's docker-registry (plain HTTP)
/// serving the same image, pushed to each with <see cref="ImagePusher"/>, in turns in the same run.
/// Each node has its own HttpClient and its own empty <see cref="ImageStore"/>; two measurements: the full
/// pull (<see cref="ImagePuller"/>: download, verify, unpack, what a node does) and the raw blob downloads
/// alone (<see cref="RegistryClient.DownloadBlobAsync"/> of every layer to a file), which isolates the
/// servers. Needs root: the store unpacks layers with their owners.
/// </summary>
public static class RegistryPullBenchmark
{
    public const int Nodes = 3;
    private const int Layers = 4;
    private const int FilesPerLayer = 5;
    private const int FileBytes = 5_000_000;
    private const string Repository = "protoswarm-bench/pull";
    private const string Tag = "100mb";
    private static readonly DateTimeOffset Time = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const UnixFileMode DirMode = FileMode | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    /// <summary><see cref="Downloaded"/>: per full pull, the time by which every layer was downloaded and verified on every node.</summary>
    public sealed record Row(string Measurement, string Server, IReadOnlyList<double> Seconds, long BytesPerRun, bool IsBaseline, IReadOnlyList<double>? Downloaded = null);

    public sealed record Report(int Rounds, long ImageBytes, long UnpackedBytes, string DockerVersion, double PushOursSeconds, double PushDockerSeconds, IReadOnlyList<Row> Rows);

    private sealed record Server(string Name, Uri BaseUri, Func<HttpClient> NewClient, bool IsBaseline);

    public static async Task<Report> RunAsync(int rounds)
    {
        if (!Environment.IsPrivilegedProcess)
        {
            throw new InvalidOperationException("the registry benchmark needs root: the image store unpacks layers with their owners and xattrs; run it with sudo");
        }

        var root = Directory.CreateTempSubdirectory("protoswarm-bench-registry-").FullName;
        var owner = new object();
        ExitCleanup.Register(owner, () => DeleteDirectory(root));
        using var loggerFactory = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
        try
        {
            Console.WriteLine();
            Console.WriteLine("Making the image and loading it into a source store...");
            using var source = new ImageStore(Path.Combine(root, "source"));
            var layout = await WriteOciLayoutAsync(Path.Combine(root, "layout"));
            await using (var archive = File.OpenRead(layout))
            {
                await source.LoadAsync(archive);
            }

            DeleteDirectory(Path.Combine(root, "layout"));
            await using var image = await source.ExportAsync($"{Repository}:{Tag}");
            var imageBytes = image.Config.Size + image.Layers.Sum(l => l.Size);
            var unpacked = (long)Layers * FilesPerLayer * FileBytes;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Image {Repository}:{Tag}: {image.Layers.Length} gzip layers, {imageBytes:N0} bytes as pushed ({imageBytes / 1e6:0.0} MB), {unpacked / 1e6:0.0} MB of file contents unpacked"));

            using var server = new RegistryServer(Path.Combine(root, "ours"), new InMemoryRegistryMetadata(), new AllowAll(), null, loggerFactory.CreateLogger<RegistryServer>());
            await using var plain = await RegistryHost.StartAsync(new IPEndPoint(IPAddress.Loopback, 0), server, null, loggerFactory);
            using var certificate = SelfSigned();
            await using var tls = await RegistryHost.StartAsync(new IPEndPoint(IPAddress.Loopback, 0), server, certificate, loggerFactory);
            using var docker = await DockerRegistryProcess.StartAsync(Path.Combine(root, "docker-registry"));
            var dockerVersion = DockerRegistryProcess.Version();

            var pushOurs = await PushAsync(source, plain.BaseAddress);
            var pushDocker = await PushAsync(source, docker.BaseUri);

            var thumbprint = certificate.GetCertHashString(HashAlgorithmName.SHA256);
            var servers = new[]
            {
                new Server("ProtoSwarm RegistryServer, HTTP", plain.BaseAddress, () => new HttpClient(), false),
                new Server($"docker-registry {dockerVersion}, HTTP", docker.BaseUri, () => new HttpClient(), true),
                new Server("ProtoSwarm RegistryServer, TLS (HTTP/1.1)", tls.BaseAddress, () => TlsClient(thumbprint), false),
            };
            var pulls = servers.Select(_ => new List<double>()).ToArray();
            var downloaded = servers.Select(_ => new List<double>()).ToArray();
            var raws = servers.Select(_ => new List<double>()).ToArray();
            var reference = ImageReference.Parse($"{Repository}:{Tag}");
            var layers = image.Layers.Select(l => (l.Digest, l.Size)).ToArray();
            var nodesDir = Path.Combine(root, "nodes");

            // One warm-up round, then ours, docker's, ours over TLS, and back (ABBA), so a burst of other load
            // on this shared machine falls on every server alike.
            for (var round = -1; round < rounds; round++)
            {
                var order = Enumerable.Range(0, servers.Length);
                order = round % 2 == 0 ? order : order.Reverse();
                foreach (var i in order)
                {
                    var (seconds, layersIn) = await PullAsync(servers[i], reference, nodesDir, imageBytes);
                    var raw = await DownloadAsync(servers[i], layers, nodesDir);
                    if (round >= 0)
                    {
                        pulls[i].Add(seconds);
                        downloaded[i].Add(layersIn);
                        raws[i].Add(raw);
                    }

                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  round {(round < 0 ? "warm-up" : (round + 1).ToString(CultureInfo.InvariantCulture))}, {servers[i].Name}: pull {seconds:0.000} s (layers all in at {layersIn:0.000} s), raw download {raw:0.000} s"));
                }
            }

            var layerBytes = layers.Sum(l => l.Size);
            var rows = new List<Row>();
            rows.AddRange(servers.Select((s, i) => new Row("full pull (download, verify, unpack)", s.Name, pulls[i], Nodes * imageBytes, s.IsBaseline, downloaded[i])));
            rows.AddRange(servers.Select((s, i) => new Row("raw blob downloads (no verify, no unpack)", s.Name, raws[i], Nodes * layerBytes, s.IsBaseline)));
            return new Report(rounds, imageBytes, unpacked, dockerVersion, pushOurs, pushDocker, rows);
        }
        finally
        {
            DeleteDirectory(root);
            ExitCleanup.Forget(owner);
        }
    }

    public static void Print(Report report)
    {
        var mb = report.ImageBytes / 1e6;
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"## Registry: a {mb:0.0} MB image (4 gzip layers) pulled by {Nodes} nodes at once, {report.Rounds} rounds (baseline docker-registry {report.DockerVersion} over plain HTTP; ProtoSwarm over HTTP and over TLS)"));
        Console.WriteLine();
        Console.WriteLine("| measurement | server | median s | min s | MB/s (median) | docker-registry / this (median) |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|");
        foreach (var row in report.Rows)
        {
            var baseline = report.Rows.First(r => r.Measurement == row.Measurement && r.IsBaseline);
            var median = Median(row.Seconds);
            var ratio = row.IsBaseline ? "1.00x (baseline)" : string.Create(CultureInfo.InvariantCulture, $"{Median(baseline.Seconds) / median:0.00}x");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {row.Measurement} | {row.Server} | {median:0.000} | {row.Seconds.Min():0.000} | {row.BytesPerRun / 1e6 / median:0} | {ratio} |"));
        }

        Console.WriteLine();
        foreach (var row in report.Rows.Where(r => r.Downloaded is not null))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Full pull from {row.Server}: every layer downloaded and verified on all {Nodes} nodes after a median {Median(row.Downloaded!):0.000} s (min {row.Downloaded!.Min():0.000}); the rest of the pull is the image store unpacking and committing."));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"MB/s counts the bytes all {Nodes} nodes received ({Nodes} x {mb:0.0} MB); unpacked, the image is {report.UnpackedBytes / 1e6:0.0} MB of files per node. " +
            $"Push of the image with ImagePusher, once each (not a measurement): ProtoSwarm {report.PushOursSeconds:0.00} s, docker-registry {report.PushDockerSeconds:0.00} s."));
    }

    /// <summary>
    /// The full pull on <see cref="Nodes"/> nodes started together: the wall time until the last one has the image,
    /// and until the last layer was downloaded and verified (the rest is the store unpacking and committing).
    /// </summary>
    private static async Task<(double Seconds, double LayersIn)> PullAsync(Server server, ImageReference reference, string nodesDir, long imageBytes)
    {
        var nodes = Enumerable.Range(0, Nodes).Select(n => (Http: server.NewClient(), Store: new ImageStore(Path.Combine(nodesDir, $"node{n}")))).ToArray();
        try
        {
            var sw = Stopwatch.StartNew();
            var layersIn = new LastCompletion(sw);
            var results = await Task.WhenAll(nodes.Select(n => Task.Run(() => new ImagePuller(n.Store, new RegistryClient(n.Http, server.BaseUri)).PullAsync(reference, layersIn))));
            var seconds = sw.Elapsed.TotalSeconds;
            foreach (var result in results)
            {
                Check(result.LayersDownloaded == Layers && result.BytesDownloaded == imageBytes,
                    $"{server.Name}: a pull fetched {result.LayersDownloaded} layers and {result.BytesDownloaded} bytes, not {Layers} and {imageBytes}");
            }

            return (seconds, layersIn.Seconds);
        }
        finally
        {
            foreach (var (http, store) in nodes)
            {
                http.Dispose();
                store.Dispose();
            }

            DeleteDirectory(nodesDir);
        }
    }

    /// <summary>Every layer downloaded to a file by <see cref="Nodes"/> nodes at once, 3 layers at a time each as a pull does; nothing checked but the sizes.</summary>
    private static async Task<double> DownloadAsync(Server server, (string Digest, long Size)[] layers, string nodesDir)
    {
        var nodes = Enumerable.Range(0, Nodes).Select(n => (Http: server.NewClient(), Dir: Directory.CreateDirectory(Path.Combine(nodesDir, $"raw{n}")).FullName)).ToArray();
        try
        {
            var sw = Stopwatch.StartNew();
            await Task.WhenAll(nodes.Select(n => Task.Run(async () =>
            {
                var client = new RegistryClient(n.Http, server.BaseUri);
                await Parallel.ForEachAsync(layers, new ParallelOptions { MaxDegreeOfParallelism = 3 }, async (layer, ct) =>
                {
                    var download = await client.DownloadBlobAsync(Repository, layer.Digest, Path.Combine(n.Dir, layer.Digest[7..]), null, ct);
                    Check(download.Size == layer.Size, $"{server.Name}: blob {layer.Digest} came with {download.Size} bytes, not {layer.Size}");
                });
            })));
            return sw.Elapsed.TotalSeconds;
        }
        finally
        {
            foreach (var (http, _) in nodes)
            {
                http.Dispose();
            }

            DeleteDirectory(nodesDir);
        }
    }

    private static async Task<double> PushAsync(ImageStore source, Uri registry)
    {
        using var http = new HttpClient();
        var sw = Stopwatch.StartNew();
        var pushed = await new ImagePusher(source, new RegistryClient(http, registry)).PushAsync($"{Repository}:{Tag}", Repository, Tag);
        Check(pushed.BlobsUploaded == Layers + 1, $"the push to {registry} uploaded {pushed.BlobsUploaded} blobs, not {Layers + 1}");
        return sw.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// An OCI image layout tar at DIR/image.tar: <see cref="Layers"/> layers of <see cref="FilesPerLayer"/> files
    /// of seeded random bytes each (the same image every run), gzip-compressed (fastest) as registries' layers are.
    /// </summary>
    private static async Task<string> WriteOciLayoutAsync(string dir)
    {
        var blobs = Directory.CreateDirectory(Path.Combine(dir, "blobs", "sha256")).FullName;
        var diffIds = new JsonArray();
        var descriptors = new JsonArray();
        for (var layer = 0; layer < Layers; layer++)
        {
            // ustar, not pax: .NET adds the current time to a pax entry (atime, ctime), and the image would differ each run.
            using var tar = new MemoryStream();
            await using (var writer = new TarWriter(tar, TarEntryFormat.Ustar, leaveOpen: true))
            {
                await writer.WriteEntryAsync(new UstarTarEntry(TarEntryType.Directory, $"data{layer}/") { Mode = DirMode, ModificationTime = Time });
                var random = new Random(1_000 + layer);
                var bytes = new byte[FileBytes];
                for (var file = 0; file < FilesPerLayer; file++)
                {
                    random.NextBytes(bytes);
                    await writer.WriteEntryAsync(new UstarTarEntry(TarEntryType.RegularFile, $"data{layer}/file{file}")
                    {
                        DataStream = new MemoryStream(bytes, writable: false),
                        Mode = FileMode,
                        ModificationTime = Time,
                    });
                }
            }

            diffIds.Add("sha256:" + Convert.ToHexStringLower(SHA256.HashData(tar.GetBuffer().AsSpan(0, (int)tar.Length))));
            var staged = Path.Combine(dir, "layer.tmp");
            await using (var file = File.Create(staged))
            await using (var gzip = new GZipStream(file, CompressionLevel.Fastest))
            {
                await gzip.WriteAsync(tar.GetBuffer().AsMemory(0, (int)tar.Length));
            }

            descriptors.Add(Descriptor(MediaTypes.OciLayerGzip, await MoveToBlobsAsync(staged, blobs)));
        }

        var config = new JsonObject
        {
            ["architecture"] = "amd64",
            ["os"] = "linux",
            ["created"] = Time.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            ["config"] = new JsonObject { ["Cmd"] = new JsonArray("/bin/true") },
            ["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = diffIds },
        };
        var configBlob = await WriteBlobAsync(blobs, config.ToJsonString());
        var manifest = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = MediaTypes.OciManifest,
            ["config"] = Descriptor(MediaTypes.OciConfig, configBlob),
            ["layers"] = descriptors,
        };
        var manifestDescriptor = Descriptor(MediaTypes.OciManifest, await WriteBlobAsync(blobs, manifest.ToJsonString()));
        manifestDescriptor["annotations"] = new JsonObject { ["org.opencontainers.image.ref.name"] = $"{Repository}:{Tag}" };
        await File.WriteAllTextAsync(Path.Combine(dir, "oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        await File.WriteAllTextAsync(Path.Combine(dir, "index.json"), new JsonObject { ["schemaVersion"] = 2, ["manifests"] = new JsonArray(manifestDescriptor) }.ToJsonString());

        var archive = Path.Combine(dir, "image.tar");
        await using (var file = File.Create(archive))
        await using (var writer = new TarWriter(file, TarEntryFormat.Pax))
        {
            await writer.WriteEntryAsync(Path.Combine(dir, "oci-layout"), "oci-layout");
            await writer.WriteEntryAsync(Path.Combine(dir, "index.json"), "index.json");
            foreach (var blob in Directory.GetFiles(blobs).Order(StringComparer.Ordinal))
            {
                await writer.WriteEntryAsync(blob, "blobs/sha256/" + Path.GetFileName(blob));
            }
        }

        return archive;
    }

    private static async Task<(string Digest, long Size)> WriteBlobAsync(string blobs, string json)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(json);
        var hex = Convert.ToHexStringLower(SHA256.HashData(bytes));
        await File.WriteAllBytesAsync(Path.Combine(blobs, hex), bytes);
        return ("sha256:" + hex, bytes.Length);
    }

    private static async Task<(string Digest, long Size)> MoveToBlobsAsync(string path, string blobs)
    {
        string hex;
        await using (var file = File.OpenRead(path))
        {
            hex = Convert.ToHexStringLower(await SHA256.HashDataAsync(file));
        }

        var size = new FileInfo(path).Length;
        File.Move(path, Path.Combine(blobs, hex), overwrite: true);
        return ("sha256:" + hex, size);
    }

    private static JsonObject Descriptor(string mediaType, (string Digest, long Size) blob) =>
        new() { ["mediaType"] = mediaType, ["digest"] = blob.Digest, ["size"] = blob.Size };

    /// <summary>What a manager's certificate is like (ECDSA P-256), self-signed for 127.0.0.1.</summary>
    private static X509Certificate2 SelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(6));
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>A client that trusts exactly the benchmark's certificate, as a node trusts its swarm's CA.</summary>
    private static HttpClient TlsClient(string thumbprint) => new(new SocketsHttpHandler
    {
        SslOptions = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                certificate is not null && certificate.GetCertHashString(HashAlgorithmName.SHA256) == thumbprint,
        },
    });

    private static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static void DeleteDirectory(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (IOException)
        {
            // a file still open by a pull that Ctrl-C cut: the directory is left behind, and said so
            Console.Error.WriteLine($"could not delete {path}; remove it by hand");
        }
    }

    private static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new InvalidOperationException(message);
        }
    }

    /// <summary>When the last layer of any node reported "Download complete" (docker's word: downloaded and its digest checked).</summary>
    private sealed class LastCompletion(Stopwatch clock) : IProgress<TransferProgress>
    {
        private readonly Lock _gate = new();

        public double Seconds { get; private set; }

        public void Report(TransferProgress value)
        {
            if (value.Status == "Download complete")
            {
                lock (_gate)
                {
                    Seconds = Math.Max(Seconds, clock.Elapsed.TotalSeconds);
                }
            }
        }
    }

    /// <summary>The benchmark's registry is on loopback for itself alone: everyone may push.</summary>
    private sealed class AllowAll : IRegistryAuthorizer
    {
        public string? Challenge => null;

        public RegistryAccess Authorize(HttpContext http) => RegistryAccess.Push;
    }
}
