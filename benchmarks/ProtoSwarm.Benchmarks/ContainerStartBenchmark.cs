using System.Diagnostics;
using System.Text.Json.Nodes;
using ProtoSwarm.Containers.Runtime;

namespace ProtoSwarm.Benchmarks;

/// <summary>
/// Start request to `true` exited, one container at a time: ProtoSwarm's LinuxContainer (overlay root
/// with a writable layer, six namespaces, cgroups, seccomp) against runc and crun from Debian running the
/// same busybox root from an OCI bundle, in turns in the same run. crun refuses this machine's hybrid
/// cgroup layout unless /sys/fs/cgroup/unified is unmounted in a private mount namespace, so its row
/// includes `unshare -m sh -c 'umount ...; crun run ...'`. Needs root and the published init
/// (out/bin/protoswarm-init, from scripts/setup.sh).
/// </summary>
public static class ContainerStartBenchmark
{
    public static async Task<List<Harness.Result>> RunAsync(int runs)
    {
        var init = FindInit();
        var root = Path.Combine(Path.GetTempPath(), "protoswarm-bench-containers-" + Environment.ProcessId);
        var layer = BusyboxRoot(root, "sh", "true");
        EnsureInstalled("runc", "crun");
        var bundle = WriteBundle(root, layer, "true");
        var options = new ContainerRuntimeOptions { InitPath = init, StateRoot = Path.Combine(root, "state") };

        var workloads = new (string Name, Func<int, Task> Run)[]
        {
            ("ProtoSwarm (protoswarm-init, NativeAOT)", async i =>
            {
                var container = await LinuxContainer.StartAsync(new ContainerSpecification { Id = $"bench{i}", Command = ["true"], Layers = [layer] }, options);
                var exit = await container.WaitAsync();
                if (exit.ExitCode != 0)
                {
                    throw new InvalidOperationException($"true exited {exit.ExitCode}");
                }
                await container.RemoveAsync();
            }),
            ($"runc {Version("runc")}", i => RunAsync("runc", $"run --bundle {bundle} psbench-runc-{i}")),
            ($"crun {Version("crun")}", i => RunAsync("unshare", $"-m sh -c \"umount /sys/fs/cgroup/unified 2>/dev/null; exec crun run --bundle {bundle} psbench-crun-{i}\"")),
        };

        var samples = workloads.Select(_ => new List<double>()).ToArray();
        try
        {
            for (var i = -2; i < runs; i++) // two warm-up rounds
            {
                foreach (var w in i % 2 == 0 ? Enumerable.Range(0, workloads.Length) : Enumerable.Range(0, workloads.Length).Reverse())
                {
                    var sw = Stopwatch.StartNew();
                    await workloads[w].Run(i + 2 + (runs + 2) * w);
                    if (i >= 0)
                    {
                        samples[w].Add(sw.Elapsed.TotalMilliseconds);
                    }
                }
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
        return [.. workloads.Select((w, i) => Harness.FromSamples(w.Name, 1, samples[i]))];
    }

    /// <summary>A root filesystem of busybox-static with the given applets, at root/rootfs.</summary>
    internal static string BusyboxRoot(string root, params string[] applets)
    {
        var layer = Path.Combine(root, "rootfs");
        Directory.CreateDirectory(Path.Combine(layer, "bin"));
        foreach (var dir in new[] { "etc", "proc", "sys", "dev", "tmp" })
        {
            Directory.CreateDirectory(Path.Combine(layer, dir));
        }
        File.Copy("/bin/busybox", Path.Combine(layer, "bin", "busybox"), overwrite: true);
        foreach (var applet in applets)
        {
            File.CreateSymbolicLink(Path.Combine(layer, "bin", applet), "busybox");
        }
        return layer;
    }

    internal static string FindInit()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "out", "bin", "protoswarm-init");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new InvalidOperationException("out/bin/protoswarm-init not found: run scripts/setup.sh (it publishes hosting/ProtoSwarm.ContainerInit)");
    }

    internal static void EnsureInstalled(params string[] packages)
    {
        var missing = packages.Where(p => !File.Exists("/usr/sbin/" + p) && !File.Exists("/usr/bin/" + p)).ToArray();
        if (missing.Length > 0)
        {
            using var apt = Process.Start("apt-get", ["install", "-y", "-qq", .. missing])!;
            apt.WaitForExit();
        }
    }

    /// <summary>An OCI bundle (runc spec's defaults: read-only root, no terminal) running <paramref name="args"/> on the layer.</summary>
    internal static string WriteBundle(string root, string layer, params string[] args)
    {
        var bundle = Path.Combine(root, "bundle");
        Directory.CreateDirectory(bundle);
        using (var spec = Process.Start(new ProcessStartInfo("runc", ["spec"]) { WorkingDirectory = bundle })!)
        {
            spec.WaitForExit();
        }
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(bundle, "config.json")))!;
        config["process"]!["terminal"] = false;
        config["process"]!["args"] = new JsonArray(args.Select(a => (JsonNode?)JsonValue.Create(a)).ToArray());
        config["root"]!["path"] = layer;
        File.WriteAllText(Path.Combine(bundle, "config.json"), config.ToJsonString());
        return bundle;
    }

    internal static string Version(string tool)
    {
        using var p = Process.Start(new ProcessStartInfo(tool, ["--version"]) { RedirectStandardOutput = true })!;
        var first = p.StandardOutput.ReadLine() ?? "";
        p.WaitForExit();
        return first.Split(' ').LastOrDefault() ?? "";
    }

    internal static async Task RunAsync(string file, string arguments)
    {
        using var p = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardError = true })!;
        var error = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {arguments}: exit {p.ExitCode}: {await error}");
        }
    }
}
