using System.Globalization;

namespace ProtoSwarm.Contracts;

/// <summary>
/// CPUs and bytes as the managers write them in a sentence ("0.5 CPUs", "512 MiB"): the scheduler's
/// reasons and the spec validator's, which the CLI also runs, so one wording for both.
/// </summary>
public static class ResourceText
{
    public static string Cpus(long nanoCpus) => (nanoCpus / 1e9).ToString("0.###", CultureInfo.InvariantCulture);

    public static string Bytes(long bytes) => Math.Abs(bytes) switch
    {
        >= 1L << 30 => (bytes / (double)(1L << 30)).ToString("0.##", CultureInfo.InvariantCulture) + " GiB",
        >= 1L << 20 => (bytes / (double)(1L << 20)).ToString("0.##", CultureInfo.InvariantCulture) + " MiB",
        _ => bytes.ToString(CultureInfo.InvariantCulture) + " B",
    };
}
