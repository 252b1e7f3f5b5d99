using System.Globalization;
using System.Text.RegularExpressions;

namespace ProtoSwarm.Cli.Lab;

/// <summary>
/// How a lab names what it makes. Everything carries the prefix `psl-&lt;lab&gt;-` so that `lab down`
/// can find it again after a crash; interface names never carry the lab name (each lab's links live
/// in namespaces of its own), so they stay far below the kernel's 15-character limit.
/// </summary>
internal static partial class LabNames
{
    public const string DefaultLab = "lab";
    public const string Prefix = "psl-";
    public const string BridgeInterface = "br0";
    public const string NodeInterface = "eth0";
    public const int MaxLabNameLength = 32;
    public const int MaxInterfaceNameLength = 15;

    /// <summary>The one-sentence reason a lab name cannot be used, or null when it can.</summary>
    public static string? ValidateLabName(string name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "The lab name is empty; pass --name with 1 to 32 characters from a-z, 0-9 and '-'.";
        }

        if (name.Length > MaxLabNameLength || !LabNamePattern().IsMatch(name))
        {
            return $"The lab name '{name}' cannot be used in namespace names: use 1 to {MaxLabNameLength} characters from a-z, 0-9 and '-', starting with a letter or digit.";
        }

        return null;
    }

    public static string BridgeNetns(string lab) => $"{Prefix}{lab}-br";

    public static string NodeNetns(string lab, string node) => $"{Prefix}{lab}-{node}";

    public static string NetnsPath(string netns) => $"/run/netns/{netns}";

    /// <summary>The bridge-side end of a node's veth pair; lives only in the lab's bridge namespace.</summary>
    public static string BridgeVeth(string node) => $"v-{node}";

    public static string ManagerName(int ordinal) => string.Create(CultureInfo.InvariantCulture, $"m{ordinal}");

    public static string WorkerName(int ordinal) => string.Create(CultureInfo.InvariantCulture, $"w{ordinal}");

    /// <summary>
    /// True when <paramref name="netns"/> was made by the lab <paramref name="lab"/>. Anchored, so that
    /// lab "a" never claims "psl-a-b-m1", which belongs to lab "a-b".
    /// </summary>
    public static bool BelongsTo(string lab, string netns)
    {
        var head = $"{Prefix}{lab}-";
        if (!netns.StartsWith(head, StringComparison.Ordinal))
        {
            return false;
        }

        var tail = netns[head.Length..];
        return tail == "br" || NodeNamePattern().IsMatch(tail);
    }

    public static bool IsNodeName(string node) => NodeNamePattern().IsMatch(node);

    [GeneratedRegex("^[a-z0-9][a-z0-9-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex LabNamePattern();

    [GeneratedRegex("^[mw][1-9][0-9]{0,2}$", RegexOptions.CultureInvariant)]
    private static partial Regex NodeNamePattern();
}
