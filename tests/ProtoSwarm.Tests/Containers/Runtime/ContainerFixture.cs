using System.Diagnostics;
using ProtoSwarm.Containers.Runtime;

namespace ProtoSwarm.Tests.Containers.Runtime;

/// <summary>
/// Once per test run: protoswarm-init published with NativeAOT (again only when its sources are newer
/// than the binary; about 20 s), and a busybox root filesystem built from Debian's /bin/busybox.
/// </summary>
public sealed class ContainerFixture : IDisposable
{
    private static readonly string[] Applets =
    [
        "sh", "echo", "sleep", "cat", "hostname", "ps", "mount", "umount", "id", "true", "false", "reboot", "unshare",
        "head", "tr", "ls", "grep", "kill", "trap", "env", "pwd", "touch", "mkdir", "wc", "dd", "yes", "seq", "tail", "mknod", "test",
        "tty", "stty",
    ];

    public ContainerFixture()
    {
        var repo = FindRepository();
        InitPath = Path.Combine(repo, "out", "test-init", "protoswarm-init");
        PublishInitIfStale(repo);

        Root = Path.Combine(Path.GetTempPath(), "protoswarm-runtime-tests-" + Guid.NewGuid().ToString("N")[..8]);
        Layer = Path.Combine(Root, "busybox");
        foreach (var dir in new[] { "bin", "etc", "mnt", "tmp", "root", "home/app" })
        {
            Directory.CreateDirectory(Path.Combine(Layer, dir));
        }
        File.Copy("/bin/busybox", Path.Combine(Layer, "bin", "busybox"));
        foreach (var applet in Applets)
        {
            File.CreateSymbolicLink(Path.Combine(Layer, "bin", applet), "busybox");
        }
        File.WriteAllText(Path.Combine(Layer, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n");
        File.WriteAllText(Path.Combine(Layer, "etc", "group"), "root:x:0:\napp:x:1000:\nextra:x:2000:app\n");
        Options = new ContainerRuntimeOptions { InitPath = InitPath, StateRoot = Path.Combine(Root, "containers") };
    }

    public string InitPath { get; }
    public string Root { get; }
    public string Layer { get; }
    public ContainerRuntimeOptions Options { get; }

    /// <summary>An image store in <paramref name="directory"/> holding the busybox root as <paramref name="reference"/>,
    /// for tests that start containers through the executor (which takes images from a store).</summary>
    public async Task<ProtoSwarm.Containers.Images.ImageStore> ImageStoreWithBusyboxAsync(string directory, string reference)
    {
        var images = new ProtoSwarm.Containers.Images.ImageStore(directory);
        using var rootfs = new MemoryStream();
        await System.Formats.Tar.TarFile.CreateFromDirectoryAsync(Layer, rootfs, includeBaseDirectory: false);
        rootfs.Position = 0;
        await images.ImportAsync(rootfs, reference);
        return images;
    }

    /// <summary>A Linux executor as a node host makes it, over <paramref name="directory"/> (images/, volumes/), its
    /// image store holding the busybox root as <paramref name="reference"/>. The store is the caller's to dispose.</summary>
    internal async Task<(ProtoSwarm.Containers.Images.ImageStore Images, ProtoSwarm.Hosting.Runtime.LinuxExecutor Executor)> BusyboxExecutorAsync(
        string directory, string reference)
    {
        var images = await ImageStoreWithBusyboxAsync(Path.Combine(directory, "images"), reference);
        var volumes = new ProtoSwarm.Containers.Volumes.VolumeStore(Path.Combine(directory, "volumes"));
        return (images, new ProtoSwarm.Hosting.Runtime.LinuxExecutor(() => images, () => volumes, Options,
            Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance));
    }

    public ContainerSpecification Spec(params string[] command) => new()
    {
        Id = "t" + Guid.NewGuid().ToString("N")[..12],
        Command = command,
        Layers = [Layer],
    };

    /// <summary>Runs a container to its end; returns its exit and what it printed (read back from its log,
    /// a newline after each line).</summary>
    public async Task<(ContainerExit Exit, string Out, string Err)> RunAsync(ContainerSpecification spec, TimeSpan? timeout = null)
    {
        await using var container = await LinuxContainer.StartAsync(spec, Options);
        var exit = await container.WaitAsync().WaitAsync(timeout ?? TimeSpan.FromSeconds(20));
        var log = container.ReadLogs();
        return (exit, Printed(log, ContainerLogStream.Stdout), Printed(log, ContainerLogStream.Stderr));
    }

    public static string Printed(IEnumerable<ContainerLogEntry> log, ContainerLogStream stream) =>
        string.Concat(log.Where(e => e.Stream == stream).Select(e => e.Text + "\n"));

    /// <summary>Waits until the container printed a line containing the text.</summary>
    public static async Task WaitForOutputAsync(LinuxContainer container, string text)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!container.ReadLogs().Any(e => e.Text.Contains(text, StringComparison.Ordinal)))
        {
            Assert.True(DateTime.UtcNow < deadline, $"no \"{text}\" in the log of {container.Id}");
            await Task.Delay(10);
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string FindRepository()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ProtoSwarm.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("ProtoSwarm.sln not found above " + AppContext.BaseDirectory);
    }

    private static readonly Lock PublishLock = new();

    private void PublishInitIfStale(string repo)
    {
        lock (PublishLock)
        {
            var project = Path.Combine(repo, "hosting", "ProtoSwarm.ContainerInit");
            var newest = Directory.EnumerateFiles(project, "*.cs*", SearchOption.AllDirectories)
                .Where(f => !f.Contains("/obj/", StringComparison.Ordinal) && !f.Contains("/bin/", StringComparison.Ordinal))
                .Max(File.GetLastWriteTimeUtc);
            if (File.Exists(InitPath) && File.GetLastWriteTimeUtc(InitPath) >= newest)
            {
                return;
            }
            var psi = new ProcessStartInfo("dotnet", ["publish", project, "-c", "Release", "-o", Path.GetDirectoryName(InitPath)!, "-nologo", "-v", "quiet"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var publish = Process.Start(psi)!;
            var output = publish.StandardOutput.ReadToEndAsync();
            var error = publish.StandardError.ReadToEndAsync();
            publish.WaitForExit();
            if (publish.ExitCode != 0)
            {
                throw new InvalidOperationException($"dotnet publish {project} failed:\n{output.Result}\n{error.Result}");
            }
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ContainerCollection : ICollectionFixture<ContainerFixture>
{
    public const string Name = "Containers.Runtime";
}
