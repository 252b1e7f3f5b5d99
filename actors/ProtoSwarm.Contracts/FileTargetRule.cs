namespace ProtoSwarm.Contracts;

/// <summary>
/// Where a secret or a config may appear in a container, as docker's daemon places them: an absolute target
/// as it is; a relative one under /run/secrets for a secret and under / for a config (moby's getSecretTargetPath
/// and getConfigTargetPath join it there), so a secret's "sub/key" is /run/secrets/sub/key and a config's
/// "app/site.conf" is /app/site.conf. Shared by the CLI, the stack loader and the managers.
/// </summary>
public static class FileTargetRule
{
    /// <summary>A file's path, absolute or relative: not the root or a directory, no "." or ".." segment.</summary>
    public static bool IsTarget(string target) =>
        target.Trim('/').Length > 0 && !target.EndsWith('/') && !target.Split('/').Any(s => s is "." or "..");

    /// <summary>Where a relative target of <paramref name="kind"/> ("secret" or "config") is placed.</summary>
    public static string RelativeTo(string kind) => kind == "secret" ? "/run/secrets" : "/";

    /// <summary>Where the file is in the container: an absolute target as it is, a relative one under <see cref="RelativeTo"/>.</summary>
    public static string ContainerPath(string kind, string target) =>
        target.StartsWith('/') ? target : RelativeTo(kind).TrimEnd('/') + "/" + target;

    /// <summary>What is wrong with a target, in words for every caller, or null.</summary>
    public static string? Problem(string kind, string target) => IsTarget(target)
        ? null
        : $"{kind} target '{target}' is not a file path: it needs a file name, and no \".\" or \"..\" part (a relative one is placed under {RelativeTo(kind)})";
}
