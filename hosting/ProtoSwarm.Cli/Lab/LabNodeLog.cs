namespace ProtoSwarm.Cli.Lab;

/// <summary>
/// A failing node's protoswarmd.log, copied out of its state dir (which `lab up`'s teardown, or a
/// test fixture after `lab start` fails, removes right after) so the cause outlives the lab.
/// </summary>
internal static class LabNodeLog
{
    public const int TailLines = 15;

    /// <summary>Where <see cref="Keep"/> copies the log: the temp dir, one file per lab and node.</summary>
    public static string KeptPath(string lab, string node) =>
        Path.Combine(Path.GetTempPath(), $"protoswarm-lab-{lab}-{node}-protoswarmd.log");

    /// <summary>
    /// Copies the node's log to <see cref="KeptPath"/> and returns a sentence naming the copy,
    /// followed by its last lines; null when the node has no log.
    /// </summary>
    public static string? Keep(string lab, LabNodePlan node)
    {
        if (!File.Exists(node.LogFile))
        {
            return null;
        }

        var kept = KeptPath(lab, node.Name);
        File.Copy(node.LogFile, kept, overwrite: true);
        var tail = File.ReadLines(kept).TakeLast(TailLines).ToList();
        return $"{node.Name}'s protoswarmd.log is kept at {kept}" + (tail.Count == 0 ? " (empty)." : ", ending:\n    " + string.Join("\n    ", tail));
    }
}
