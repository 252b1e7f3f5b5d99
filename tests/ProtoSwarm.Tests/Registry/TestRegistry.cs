using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using ProtoSwarm.Registry.Server;

namespace ProtoSwarm.Tests.Registry;

/// <summary>
/// A registry on 127.0.0.1:0 with its own temporary directory, basic auth (user `push` or `pull`, and user `manager`
/// standing for another manager's node certificate, which the peer routes need) and metadata in memory (or shared
/// with another one, as two managers share the Raft store).
/// </summary>
internal sealed class TestRegistry : IAsyncDisposable
{
    public const string PullToken = "pull-token-1";
    public const string PushToken = "push-token-1";
    public const string ManagerToken = "manager-token-1";

    private readonly bool _ownsRoot;

    private TestRegistry(string root, bool ownsRoot, IRegistryMetadata metadata, RegistryServer server, RegistryHost host, RecordingLogger log)
    {
        Log = log;
        Root = root;
        _ownsRoot = ownsRoot;
        Metadata = metadata;
        Server = server;
        Host = host;
        Push = NewClient("push", PushToken);
        Pull = NewClient("pull", PullToken);
        Anonymous = NewClient(null, null);
    }

    public string Root { get; }

    /// <summary>What the server logged: proof that a request reached it, and how it ended.</summary>
    public RecordingLogger Log { get; }

    public IRegistryMetadata Metadata { get; }

    public RegistryServer Server { get; }

    public RegistryHost Host { get; }

    /// <summary>Logged in as `push`.</summary>
    public HttpClient Push { get; }

    /// <summary>Logged in as `pull`.</summary>
    public HttpClient Pull { get; }

    public HttpClient Anonymous { get; }

    public string BlobsDir => Path.Combine(Root, "blobs", "sha256");

    public string UploadsDir => Path.Combine(Root, "uploads");

    public static async Task<TestRegistry> StartAsync(IRegistryMetadata? metadata = null, IBlobPeers? peers = null, string? root = null, Func<string>? pushToken = null,
        TimeProvider? time = null, TimeSpan? replicationPeriod = null, TimeSpan? pushQuorumWait = null)
    {
        var ownsRoot = root is null;
        root ??= Directory.CreateTempSubdirectory("protoswarm-registry-").FullName;
        metadata ??= new InMemoryRegistryMetadata();
        var log = new RecordingLogger();
        var server = new RegistryServer(root, metadata, new ManagerOrToken(new BasicAuthorizer(() => PullToken, pushToken ?? (() => PushToken))), peers, log, time, replicationPeriod: replicationPeriod, pushQuorumWait: pushQuorumWait);
        var host = await RegistryHost.StartAsync(new IPEndPoint(IPAddress.Loopback, 0), server);
        return new TestRegistry(root, ownsRoot, metadata, server, host, log);
    }

    public HttpClient NewClient(string? user, string? password)
    {
        var client = new HttpClient { BaseAddress = Host.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (user is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
        }

        return client;
    }

    /// <summary>A monolithic upload (POST ?digest=), asserting 201.</summary>
    public async Task<string> UploadAsync(string repository, byte[] bytes)
    {
        var digest = Digest(bytes);
        using var response = await Push.PostAsync($"/v2/{repository}/blobs/uploads/?digest={digest}", new ByteArrayContent(bytes));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return digest;
    }

    public async Task<HttpResponseMessage> PutManifestAsync(string repository, string reference, byte[] manifest, string mediaType = RegistryServer.OciManifest)
    {
        var content = new ByteArrayContent(manifest);
        content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        return await Push.PutAsync($"/v2/{repository}/manifests/{reference}", content);
    }

    /// <summary>An OCI image manifest over a config and layers whose blobs are given (pushed or not).</summary>
    public static byte[] ImageManifest(byte[] config, params byte[][] layers) => ImageManifest(RegistryServer.OciManifest, config, layers);

    public static byte[] ImageManifest(string mediaType, byte[] config, params byte[][] layers) => Encoding.UTF8.GetBytes(new JsonObject
    {
        ["schemaVersion"] = 2,
        ["mediaType"] = mediaType,
        ["config"] = Descriptor("application/vnd.oci.image.config.v1+json", config),
        ["layers"] = new JsonArray([.. layers.Select(l => (JsonNode)Descriptor("application/vnd.oci.image.layer.v1.tar", l))]),
    }.ToJsonString());

    public static JsonObject Descriptor(string mediaType, byte[] bytes) => new()
    {
        ["mediaType"] = mediaType,
        ["digest"] = Digest(bytes),
        ["size"] = bytes.Length,
    };

    /// <summary>Pushes a config and one layer, then the manifest under <paramref name="tag"/>; returns the manifest's bytes.</summary>
    public async Task<byte[]> PushImageAsync(string repository, string tag, string layerText)
    {
        var config = Encoding.UTF8.GetBytes($"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[]}},\"comment\":\"{layerText}\"}}");
        var layer = Encoding.UTF8.GetBytes("layer: " + layerText);
        await UploadAsync(repository, config);
        await UploadAsync(repository, layer);
        var manifest = ImageManifest(config, layer);
        using var response = await PutManifestAsync(repository, tag, manifest);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return manifest;
    }

    public static string Digest(byte[] bytes) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));

    public static byte[] RandomBytes(int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>The spec's error body: the first error's code, and the whole error for the message and detail.</summary>
    public static async Task<(string Code, JsonElement Error)> ErrorAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsByteArrayAsync();
        using var document = JsonDocument.Parse(body);
        var error = document.RootElement.GetProperty("errors")[0].Clone();
        return (error.GetProperty("code").GetString()!, error);
    }

    public async ValueTask DisposeAsync()
    {
        Push.Dispose();
        Pull.Dispose();
        Anonymous.Dispose();
        await Host.DisposeAsync();
        Server.Dispose();
        if (_ownsRoot)
        {
            Directory.Delete(Root, recursive: true);
        }
    }

    /// <summary>
    /// Basic auth as the plain listener's, plus user `manager`, which gets what a manager's node certificate gets over
    /// mutual TLS (<see cref="RegistryAccess.Manager"/>): the tests' managers reach each other over plain HTTP.
    /// </summary>
    private sealed class ManagerOrToken(IRegistryAuthorizer tokens) : IRegistryAuthorizer
    {
        private static readonly string ManagerCredentials = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"manager:{ManagerToken}"));

        public string? Challenge => tokens.Challenge;

        public RegistryAccess Authorize(Microsoft.AspNetCore.Http.HttpContext http) =>
            http.Request.Headers.Authorization.ToString() == ManagerCredentials ? RegistryAccess.Manager : tokens.Authorize(http);
    }
}

/// <summary>Keeps every line logged, formatted.</summary>
internal sealed class RecordingLogger : ILogger
{
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly ConcurrentQueue<string> _warnings = new();

    public IReadOnlyList<string> Lines => [.. _lines];

    /// <summary>The lines logged at warning level or above.</summary>
    public IReadOnlyList<string> Warnings => [.. _warnings];

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var line = formatter(state, exception);
        _lines.Enqueue(line);
        if (logLevel >= LogLevel.Warning)
        {
            _warnings.Enqueue(line);
        }
    }
}
