namespace ProtoSwarm.Cli.Compose;

/// <summary>
/// A file of KEY=VALUE lines, as docker's --env-file and compose's env_file read it: blank lines and
/// lines starting with # are skipped, a KEY alone takes its value from the environment (and is left
/// out when the environment has none), the value is everything after the first '=' as written.
/// </summary>
internal static class EnvFile
{
    /// <summary>The variables in order (a null value: KEY alone), or the first bad line and why.</summary>
    public static (IReadOnlyList<KeyValuePair<string, string?>> Variables, (int Line, string Message)? Error) Parse(string text)
    {
        var variables = new List<KeyValuePair<string, string?>>();
        var lines = text.ReplaceLineEndings("\n").Split('\n');
        for (var n = 0; n < lines.Length; n++)
        {
            var line = lines[n].TrimStart();
            if (n == 0)
            {
                line = line.TrimStart('\uFEFF');
            }

            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var equals = line.IndexOf('=', StringComparison.Ordinal);
            var key = equals < 0 ? line.TrimEnd() : line[..equals];
            if (key.Length == 0 || key.Any(char.IsWhiteSpace))
            {
                return (variables, (n + 1, key.Length == 0
                    ? $"'{line}' has no variable name; write KEY=VALUE"
                    : $"variable '{key}' holds white space; write KEY=VALUE with no space around the name"));
            }

            var value = equals < 0 ? null : line[(equals + 1)..];
            variables.Add(new(key, value));
        }

        return (variables, null);
    }
}
