namespace ProtoSwarm.Cli.Lab;

/// <summary>
/// Which protoswarmd a lab runs: --daemon, else $PROTOSWARMD, else the one next to this CLI, else
/// the first on PATH. The probes are parameters so the order can be tested without a file system.
/// </summary>
internal static class DaemonLocator
{
    public const string EnvironmentVariable = "PROTOSWARMD";
    public const string DaemonFileName = "protoswarmd";

    public static string Locate(string? option) =>
        Locate(option, Environment.GetEnvironmentVariable(EnvironmentVariable), AppContext.BaseDirectory,
            Environment.GetEnvironmentVariable("PATH"), File.Exists);

    public static string Locate(string? option, string? environment, string baseDirectory, string? path, Func<string, bool> exists)
    {
        if (!string.IsNullOrEmpty(option))
        {
            return Checked(option, "--daemon", exists);
        }

        if (!string.IsNullOrEmpty(environment))
        {
            return Checked(environment, $"${EnvironmentVariable}", exists);
        }

        var sibling = Path.Combine(baseDirectory, DaemonFileName);
        if (exists(sibling))
        {
            return sibling;
        }

        foreach (var directory in (path ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, DaemonFileName);
            if (exists(candidate))
            {
                return candidate;
            }
        }

        throw new LabException(
            $"Cannot find protoswarmd: not next to this CLI ({baseDirectory}) nor on PATH; pass --daemon PATH or set {EnvironmentVariable}.");
    }

    private static string Checked(string candidate, string source, Func<string, bool> exists) =>
        exists(candidate)
            ? Path.GetFullPath(candidate)
            : throw new LabException($"{source} names {candidate}, which does not exist; point it at a protoswarmd binary.");
}
