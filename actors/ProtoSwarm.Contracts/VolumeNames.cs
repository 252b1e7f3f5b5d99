using System.Text.RegularExpressions;

namespace ProtoSwarm.Contracts;

/// <summary>Docker's rule for a volume name, shared by the CLI, the managers and the node's volume store.</summary>
public static partial class VolumeNames
{
    [GeneratedRegex("^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")]
    private static partial Regex Pattern();

    public static bool IsValid(string name) => Pattern().IsMatch(name);

    /// <summary>What is wrong with a name, in docker's words plus the fix; null when it is valid.</summary>
    public static string? Problem(string name) => IsValid(name)
        ? null
        : $"'{name}' is not a valid volume name: it needs at least two characters, a letter or digit first, then letters, digits, '_', '.' or '-'";
}
