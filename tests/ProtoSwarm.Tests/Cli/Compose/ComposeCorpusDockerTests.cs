using System.Diagnostics;

namespace ProtoSwarm.Tests.Cli.Compose;

/// <summary>
/// The corpus's expectations held against docker's own loader: docker's client runs `stack config`
/// with no daemon, loading, merging, interpolating and checking each file as its `stack deploy` does
/// before converting it. Every valid file must be accepted, every invalid one refused, but for the
/// files whose fault docker's deploy finds only in its later steps (listed with the step).
/// </summary>
[Trait("Category", "Docker")]
public sealed class ComposeCorpusDockerTests
{
    /// <summary>Invalid here and accepted by docker's `stack config`: refused by its deploy in a later step (or, as said, not at all).</summary>
    private static readonly Dictionary<string, string> RefusedLaterByDocker = new()
    {
        ["build-only.yml"] = "no image: the daemon refuses the service",
        ["missing-image.yml"] = "no image: the daemon refuses the service",
        ["global-with-replicas.yml"] = "docker's convert step: replicas only with replicated mode",
        ["secret-file-and-external.yml"] = "an empty config file: the managers refuse data of 0 bytes",
        ["secret-targets.yml"] = "the managers' check of secret targets (here, as ServiceSpecValidator)",
        ["secret-without-file.yml"] = "docker's convert step reads the secret's file",
        ["unknown-network.yml"] = "docker's convert step: the network is not declared",
        ["unknown-secret.yml"] = "docker's convert step: the secret is not declared",
        ["unknown-volume.yml"] = "docker's convert step: undefined volume",
        ["bad-image.yml"] = "the daemon refuses an invalid image reference",
        ["long-service-name.yml"] = "the managers refuse the service's name (STACK_SERVICE, a DNS label)",
        ["managers-checks.yml"] = "the managers' check of each service spec (ServiceSpecValidator, which stack config runs here)",
        ["volume-driver-nfs.yml"] = "docker's daemon refuses a volume driver it has no plugin for when a node creates the volume",
        ["volume-driver-opts.yml"] = "docker's local driver refuses options without a device when a node creates the volume (missing required option)",
        // docker encrypts (IPsec) and takes a chosen VNI; ProtoSwarm's overlays would run without either, silently.
        ["network-driver-opts.yml"] = "accepted by docker; refused here, where overlays are not encrypted and the VXLAN id is the swarm's to allocate",
        // Docker's loader checks neither: its daemon takes any log driver it has a plugin for, and swarmkit any DNS text.
        ["bad-logging-dns.yml"] = "accepted by docker's loader; refused here, where a node keeps only json-file, local or none, and a DNS value must be one",
    };

    // Skipped, and counted as such, where there is no oracle: no docker client on PATH, or one without a
    // `stack config` that works alone (Debian's 20.10 has none; the 28.x client on this project's machines has).
    [SkippableFact]
    public async Task Docker_Accepts_The_Valid_Files_And_Refuses_The_Invalid_Ones()
    {
        var docker = (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, "docker"))
            .FirstOrDefault(File.Exists);
        Skip.If(docker is null, "no docker client on PATH: the corpus is not checked against docker's own compose loader");
        var probe = await StackConfigAsync(docker!, Path.Combine(ComposeCorpusTests.Corpus, "valid", "minimal.yml"));
        // docker 20.10 has no `stack config` at all (Debian's: "unknown shorthand flag: 'c'"); some builds ask a daemon.
        Skip.If(probe.Code != 0 && (probe.Error.Contains("unknown shorthand flag", StringComparison.Ordinal)
                || probe.Error.Contains("Cannot connect to the Docker daemon", StringComparison.Ordinal)),
            $"{docker} cannot load a compose file by itself ({probe.Error.Split('\n')[0].Trim()}): a docker client whose `stack config` loads files by itself is needed here");

        var valid = Directory.GetFiles(Path.Combine(ComposeCorpusTests.Corpus, "valid"), "*.yml");
        var invalid = Directory.GetFiles(Path.Combine(ComposeCorpusTests.Corpus, "invalid"), "*.yml");
        var runs = await Task.WhenAll(valid.Concat(invalid).Select(async file => (File: file, Run: await StackConfigAsync(docker!, file))));

        Assert.All(runs.Where(r => valid.Contains(r.File)), r => Assert.True(r.Run.Code == 0, $"docker refused {Path.GetFileName(r.File)}: {r.Run.Error}"));
        Assert.All(runs.Where(r => invalid.Contains(r.File)), r =>
        {
            var name = Path.GetFileName(r.File);
            if (RefusedLaterByDocker.TryGetValue(name, out var step))
            {
                Assert.True(r.Run.Code == 0, $"docker's stack config now refuses {name} ({r.Run.Error.Trim()}); it was listed as accepted by it ({step}): take it off the list");
            }
            else
            {
                Assert.True(r.Run.Code != 0, $"docker accepts {name}, which the corpus says is invalid");
            }
        });
    }

    private static async Task<(int Code, string Error)> StackConfigAsync(string docker, string file)
    {
        var start = new ProcessStartInfo(docker, ["stack", "config", "-c", Path.GetFileName(file)])
        {
            WorkingDirectory = Path.GetDirectoryName(file)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment.Clear();
        start.Environment["PATH"] = Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin";
        start.Environment["DOCKER_HOST"] = "unix:///nonexistent";
        start.Environment["DOCKER_CONFIG"] = Path.GetTempPath();
        foreach (var (key, value) in ComposeCorpusTests.Environment)
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        await output;
        return (process.ExitCode, await error);
    }
}
