namespace ProtoSwarm.Contracts;

/// <summary>
/// Where a secret or a config may appear in a container, as docker's daemon places them: a config at an
/// absolute path; a secret at a file name under /run/secrets, or at an absolute path of its own (moby's
/// secret mounts take an absolute target as it is). Shared by the CLI, the stack loader and the managers.
/// </summary>
public static class FileTargetRule
{
    /// <summary>An absolute path of a file: not the root, no "." or ".." segment.</summary>
    public static bool IsAbsoluteFile(string target) =>
        target.StartsWith('/') && target.Trim('/').Length > 0 && !target.Split('/').Any(s => s is "." or "..");

    /// <summary>A plain file name (under /run/secrets) or an absolute file path.</summary>
    public static bool IsSecretTarget(string target) =>
        IsAbsoluteFile(target) || (target.Length > 0 && !target.Contains('/', StringComparison.Ordinal) && target is not ("." or ".."));
}
