using System.Globalization;
using System.Text.Json;
using ProtoSwarm.ContainerInit;
using ProtoSwarm.Containers.Runtime.Cgroups;

namespace ProtoSwarm.Containers.Runtime;

/// <summary>A container's process label (what its processes run as) and file label (its mounts).</summary>
internal sealed record SelinuxContext(string ProcessLabel, string MountLabel);

/// <summary>
/// Docker's SELinux labelling: where the host enforces SELinux, every container runs as container_t and
/// its files are container_file_t, both at level s0 with two categories no other container on this node
/// has, so two containers cannot touch each other's processes or files even if both escape their
/// namespaces. Nothing is labelled where SELinux is absent or not enforcing.
/// </summary>
internal static class SelinuxLabels
{
    public const string EnforceFile = "/sys/fs/selinux/enforce";
    public const string ProcessType = "system_u:system_r:container_t";
    public const string FileType = "system_u:object_r:container_file_t";
    private const int Categories = 1024; // c0..c1023, as docker's MCS range

    /// <summary>Held while a start chooses its categories and writes its config, so two starts never take the same pair.</summary>
    public static readonly Lock Gate = new();

    /// <summary>selinuxfs is mounted and its enforce file reads 1.</summary>
    public static bool Enforcing(ISyscalls sys)
    {
        if (!sys.FileExists(EnforceFile) || !sys.FileExists("/proc/self/mountinfo"))
        {
            return false;
        }
        return MountInfo.Parse(sys.ReadFile("/proc/self/mountinfo")).Any(m => m.FsType == "selinuxfs")
            && sys.ReadFile(EnforceFile).Trim() == "1";
    }

    /// <summary>Labels at "s0:cA,cB" with A &lt; B drawn from <paramref name="random"/> until the level is
    /// none of <paramref name="inUse"/> (over half a million pairs: a few draws at most).</summary>
    public static SelinuxContext Choose(Random random, IReadOnlySet<string> inUse)
    {
        if (inUse.Count >= Categories * (Categories - 1) / 2)
        {
            throw new InvalidOperationException("every SELinux category pair is in use on this node");
        }
        while (true)
        {
            var a = random.Next(Categories);
            var b = random.Next(Categories);
            if (a == b)
            {
                continue;
            }
            var level = string.Create(CultureInfo.InvariantCulture, $"s0:c{Math.Min(a, b)},c{Math.Max(a, b)}");
            if (!inUse.Contains(level))
            {
                return new SelinuxContext($"{ProcessType}:{level}", $"{FileType}:{level}");
            }
        }
    }

    /// <summary>The level ("s0:c1,c2") of a label, the part after user, role and type.</summary>
    public static string? Level(string? label) => label?.Split(':', 4) is [_, _, _, var level] ? level : null;

    /// <summary>The levels of the containers in the state root, from their configs: they stay taken
    /// until the container is removed, across restarts of the node host.</summary>
    public static HashSet<string> LevelsInUse(ISyscalls sys, string stateRoot)
    {
        var levels = new HashSet<string>(StringComparer.Ordinal);
        foreach (var id in sys.ListDirectories(stateRoot))
        {
            var config = new ContainerPaths(Path.Combine(stateRoot, id)).Config;
            try
            {
                if (sys.FileExists(config)
                    && Level(JsonSerializer.Deserialize(sys.ReadFile(config), InitConfigJson.Default.InitConfig)?.ProcessLabel) is { } level)
                {
                    levels.Add(level);
                }
            }
            catch (Exception e) when (e is IOException or JsonException)
            {
                // Removed meanwhile, or half written by a start that then failed: not in use.
            }
        }
        return levels;
    }
}
