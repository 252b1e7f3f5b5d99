using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using ProtoSwarm.Tests.Containers.Images;

namespace ProtoSwarm.Tests.Registry;

/// <summary>
/// A real registry client against the server: skopeo (containers/image, what podman and cri-o use) pushes an
/// OCI image layout and pulls it back, and every digest must survive the round trip unchanged.
/// </summary>
public sealed class SkopeoTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("protoswarm-skopeo-").FullName;
    private TestRegistry _registry = null!;

    public async Task InitializeAsync() => _registry = await TestRegistry.StartAsync();

    public async Task DisposeAsync()
    {
        await _registry.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Skopeo_Copies_An_Oci_Layout_Into_The_Registry_And_Back_With_Identical_Digests()
    {
        var skopeo = FindSkopeo();
        var source = Path.Combine(_dir, "source");
        var original = WriteLayout(source);
        var target = $"docker://127.0.0.1:{_registry.Host.Port}/test/busy:1.0";

        await RunAsync(skopeo, "--insecure-policy", "copy", "--dest-tls-verify=false", "--dest-creds", $"push:{TestRegistry.PushToken}", $"oci:{source}:1.0", target);

        var raw = await RunAsync(skopeo, "inspect", "--raw", "--tls-verify=false", "--creds", $"pull:{TestRegistry.PullToken}", target);
        Assert.Equal(original.Manifest, raw.Bytes);

        var copy = Path.Combine(_dir, "copy");
        await RunAsync(skopeo, "--insecure-policy", "copy", "--src-tls-verify=false", "--src-creds", $"pull:{TestRegistry.PullToken}", target, $"oci:{copy}:1.0");

        using var index = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(copy, "index.json")));
        var top = Assert.Single(index.RootElement.GetProperty("manifests").EnumerateArray());
        Assert.Equal(original.ManifestDigest, top.GetProperty("digest").GetString());
        Assert.Equal(original.Blobs, Blobs(copy));
        foreach (var blob in Blobs(copy))
        {
            Assert.Equal(blob, Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(copy, "blobs", "sha256", blob)))));
        }

        // The registry holds exactly what was pushed: the manifest under its tag, the config and the layers linked.
        var repository = (await _registry.Metadata.GetAsync("test/busy", default))!;
        Assert.Equal(original.ManifestDigest, repository.Tags["1.0"]);
        Assert.Equal(original.Blobs.Where(b => "sha256:" + b != original.ManifestDigest).Order(StringComparer.Ordinal), repository.Blobs.Keys.Select(k => k[7..]));
    }

    private static (byte[] Manifest, string ManifestDigest, IReadOnlyList<string> Blobs) WriteLayout(string dir)
    {
        Dictionary<string, byte[]> files = [];
        _ = TestImages.OciLayout("1.0", gzip: true, throughIndex: false, tamper: f => files = new Dictionary<string, byte[]>(f, StringComparer.Ordinal));
        Directory.CreateDirectory(Path.Combine(dir, "blobs", "sha256"));
        foreach (var (name, bytes) in files)
        {
            File.WriteAllBytes(Path.Combine(dir, name), bytes);
        }

        using var index = JsonDocument.Parse(files["index.json"]);
        var digest = index.RootElement.GetProperty("manifests")[0].GetProperty("digest").GetString()!;
        return (files["blobs/sha256/" + digest[7..]], digest, Blobs(dir));
    }

    private static List<string> Blobs(string layout) =>
        [.. Directory.EnumerateFiles(Path.Combine(layout, "blobs", "sha256")).Select(f => Path.GetFileName(f)!).Order(StringComparer.Ordinal)];

    private static string FindSkopeo()
    {
        var found = (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, "skopeo"))
            .FirstOrDefault(File.Exists);
        Assert.True(found is not null, "skopeo is not installed, and this test needs a real registry client: `bash scripts/setup.sh` installs it (apt-get install skopeo)");
        return found!;
    }

    private static async Task<(byte[] Bytes, string Error)> RunAsync(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        using var output = new MemoryStream();
        var stdout = process.StandardOutput.BaseStream.CopyToAsync(output);
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"skopeo {string.Join(' ', args)} did not finish within 2 minutes; stderr: {await stderr}");
        }

        await stdout;
        var error = await stderr;
        Assert.True(process.ExitCode == 0, $"skopeo {string.Join(' ', args)} exited with {process.ExitCode}: {error}");
        return (output.ToArray(), error);
    }
}
