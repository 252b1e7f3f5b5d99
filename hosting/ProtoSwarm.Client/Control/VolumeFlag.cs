using System.Text.RegularExpressions;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Client.Control;

/// <summary>
/// docker's `run -v/--volume [SOURCE:]TARGET[:OPTIONS]`: SOURCE an absolute host path (a bind; the node makes the directory
/// when it is missing, as docker's -v does) or a volume name (a local volume, made on first use); no SOURCE an anonymous
/// volume; OPTIONS a comma list of ro, rw, nocopy, z, Z (accepted, no SELinux relabel here) and a bind propagation
/// (shared, rshared, slave, rslave, private, rprivate). Read by the CLI to refuse a mistake early and by the node host.
/// </summary>
public static partial class VolumeFlag
{
    [GeneratedRegex("^[a-zA-Z0-9][a-zA-Z0-9_.-]+$", RegexOptions.CultureInvariant)]
    private static partial Regex VolumeName();

    /// <summary>
    /// docker's CLI turns a source of "." or "./PATH" into an absolute path (from its working directory) before it sends the
    /// flag; anything else is left as it is.
    /// </summary>
    public static string WithAbsoluteSource(string text, Func<string, string> fullPath)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            return text;
        }

        var source = text[..colon];
        return source == "." || source.StartsWith("./", StringComparison.Ordinal) ? fullPath(source) + text[colon..] : text;
    }

    /// <summary>The mount <paramref name="text"/> asks for, or docker's refusal of it.</summary>
    public static (MountSpec? Mount, string? Error) Parse(string text)
    {
        var parts = text.Split(':');
        if (text.Length == 0 || parts.Length > 3)
        {
            return (null, $"invalid volume specification: '{text}'");
        }

        if (parts.Any(p => p.Length == 0))
        {
            return (null, $"invalid spec: {text}: empty section between colons");
        }

        // TARGET alone; SOURCE:TARGET; SOURCE:TARGET:OPTIONS, or TARGET:OPTIONS when the second part is no path.
        string source = string.Empty, target, options = string.Empty;
        switch (parts.Length)
        {
            case 1:
                target = parts[0];
                break;
            case 2 when !parts[1].StartsWith('/'):
                (target, options) = (parts[0], parts[1]);
                break;
            case 2:
                (source, target) = (parts[0], parts[1]);
                break;
            default:
                (source, target, options) = (parts[0], parts[1], parts[2]);
                break;
        }

        if (!target.StartsWith('/'))
        {
            return (null, $"invalid volume specification: '{text}': the path in the container, '{target}', must be absolute");
        }

        var bind = source.StartsWith('/');
        if (source.Length > 0 && !bind && !VolumeName().IsMatch(source))
        {
            return (null, $"create {source}: \"{source}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path");
        }

        var mount = new MountSpec(bind ? MountType.Bind : MountType.Volume, source, target);
        foreach (var option in options.Length == 0 ? [] : options.Split(','))
        {
            MountSpec? next = option switch
            {
                "ro" => mount with { ReadOnly = true },
                "rw" or "z" or "Z" => mount,
                "nocopy" when !bind => mount with { VolumeNoCopy = true },
                "shared" or "rshared" or "slave" or "rslave" or "private" or "rprivate" when bind => mount with { BindPropagation = MountPropagations.Parse(option) },
                _ => null,
            };
            if (next is null)
            {
                return (null, $"invalid mode: {option} in '{text}': use ro or rw, nocopy for a volume, or a propagation (rprivate, rshared, rslave, ...) for a bind");
            }

            mount = next;
        }

        return (mount, null);
    }
}
