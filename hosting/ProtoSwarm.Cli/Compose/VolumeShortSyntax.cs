using ProtoSwarm.Cli.Commands;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Compose;

/// <summary>
/// A compose service's `volumes:` entry in its short form, as `docker stack deploy` reads it:
/// "/ctr" (an anonymous volume), "vol:/ctr", "/host:/ctr" and "./rel:/ctr" (bind mounts; a relative
/// path is resolved against the compose file's directory, "~" against the home directory), each with
/// an optional ":ro", ":rw" or ":nocopy" (comma-separated); a bind's propagation (rprivate, private, rshared, shared,
/// rslave, slave; the last one given counts, as docker's), and options docker ignores (cached, delegated, consistent,
/// z, Z) are ignored.
/// Pure: the caller gives both directories.
/// </summary>
internal static partial class VolumeShortSyntax
{
    [System.Text.RegularExpressions.GeneratedRegex("^[a-zA-Z0-9][a-zA-Z0-9_.-]*$", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex Key();

    /// <summary>
    /// What is wrong with a service's volume source that names a top-level volume, or null. It is the key, not
    /// the volume's name on the swarm (that is `STACK_KEY`, or the volume's name:, and is checked where it is
    /// declared), so docker's two-character minimum for a volume name does not apply: `v:/data` is fine.
    /// </summary>
    public static string? KeyProblem(string key) => Key().IsMatch(key)
        ? null
        : $"'{key}' is not a volume key: a letter or digit first, then letters, digits, '_', '.' or '-'";

    public static Checked<MountSpec> Parse(string text, string baseDirectory, string? homeDirectory = null)
    {
        var usage = $"'{text}' is not a volume; write it as [SOURCE:]TARGET[:MODE], e.g. data:/var/lib/data:ro or ./conf:/etc/app";
        var parts = text.Split(':');
        if (text.Length == 0 || parts.Length > 3 || parts.Any(p => p.Length == 0))
        {
            return Checked<MountSpec>.Fail(usage);
        }

        var (source, target, mode) = parts switch
        {
            [var t] => ("", t, ""),
            [var s, var t] => (s, t, ""),
            [var s, var t, var m] => (s, t, m),
            _ => ("", "", ""),
        };
        if (!target.StartsWith('/'))
        {
            return Checked<MountSpec>.Fail($"'{text}': the target '{target}' is not an absolute path in the container; write e.g. {(source.Length > 0 ? source + ":" : "")}/{target.TrimStart('.', '/')}");
        }

        if (target.Trim('/').Length == 0)
        {
            return Checked<MountSpec>.Fail($"'{text}': the target cannot be '/'; mount on a directory in the container");
        }

        bool readOnly = false, noCopy = false;
        MountPropagation? propagation = null;
        foreach (var option in mode.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            switch (option)
            {
                case "ro": readOnly = true; break;
                case "rw": readOnly = false; break;
                case "nocopy": noCopy = true; break;
                case "rprivate" or "private" or "rshared" or "shared" or "rslave" or "slave": propagation = MountPropagations.Parse(option); break;
                default: break; // as docker's volumespec: an option it does not know (cached, delegated, consistent, z, Z) is ignored
            }
        }

        if (propagation is not null && (source.Length == 0 || !IsPath(source)))
        {
            // docker's convert: "bind options are incompatible with type volume".
            return Checked<MountSpec>.Fail($"'{text}': propagation '{MountPropagations.Name(propagation.Value)}' is for bind mounts, and this is a volume; leave it out");
        }

        if (source.Length == 0)
        {
            return Checked<MountSpec>.Ok(new MountSpec(MountType.Volume, "", target, readOnly, VolumeNoCopy: noCopy));
        }

        if (!IsPath(source))
        {
            return KeyProblem(source) is { } problem
                ? Checked<MountSpec>.Fail($"'{text}': {problem}; write a host path with '/', './' or '~/' for a bind mount")
                : Checked<MountSpec>.Ok(new MountSpec(MountType.Volume, source, target, readOnly, VolumeNoCopy: noCopy));
        }

        if (noCopy)
        {
            return Checked<MountSpec>.Fail($"'{text}': nocopy is for named volumes, and {source} is a host path");
        }

        if (source == "~" || source.StartsWith("~/", StringComparison.Ordinal))
        {
            if (string.IsNullOrEmpty(homeDirectory))
            {
                return Checked<MountSpec>.Fail($"'{text}': '~' needs a home directory, and none is known; give the full path");
            }

            source = homeDirectory + source[1..];
        }
        else if (source.StartsWith('~'))
        {
            return Checked<MountSpec>.Fail($"'{text}': '{source}' names another user's home, which is not supported; give the full path");
        }

        if (!source.StartsWith('/') && !Path.IsPathFullyQualified(baseDirectory))
        {
            return Checked<MountSpec>.Fail($"'{text}': the relative path {source} needs the compose file's directory, and '{baseDirectory}' is not an absolute path");
        }

        var full = Path.GetFullPath(source, source.StartsWith('/') ? "/" : baseDirectory);
        return Checked<MountSpec>.Ok(new MountSpec(MountType.Bind, full.Length > 1 ? full.TrimEnd('/') : full, target, readOnly) { BindPropagation = propagation });
    }

    private static bool IsPath(string source) => source[0] is '/' or '.' or '~';
}
