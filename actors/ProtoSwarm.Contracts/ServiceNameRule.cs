using System.Text.RegularExpressions;

namespace ProtoSwarm.Contracts;

/// <summary>
/// Docker's rule for a service's name (a DNS label: the name resolves on the service's networks), shared by
/// the managers' spec check and the CLI's, which checks a stack's STACK_SERVICE names before it sends anything.
/// </summary>
public static partial class ServiceNameRule
{
    [GeneratedRegex("^[a-zA-Z0-9](?:[a-zA-Z0-9_-]{0,61}[a-zA-Z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    public static bool IsValid(string name) => Pattern().IsMatch(name);

    /// <summary>How to write a valid name, for messages.</summary>
    public const string Hint = "use 1 to 63 letters, digits, '-' and '_' (a stack names its services STACK_NAME), starting and ending with a letter or digit";
}
