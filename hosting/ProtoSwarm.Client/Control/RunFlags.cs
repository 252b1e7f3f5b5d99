using System.Globalization;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Client.Control;

/// <summary>
/// docker run's --tmpfs, --expose and --shm-size as a standalone container gets them, read by the CLI to refuse a mistake
/// early and by the node host (another client may not have checked).
/// </summary>
public static class RunFlags
{
    /// <summary>0o1777, /tmp's and docker's /dev/shm's mode.</summary>
    private const int StickyWorldWritable = 0x3FF;

    /// <summary>The options --tmpfs takes. The container's tmpfs mounts are always noexec, nosuid and nodev (docker's default
    /// for --tmpfs), so those are taken as said and exec, suid and dev refused rather than dropped unsaid.</summary>
    private static readonly string[] KnownOptions = ["rw", "ro", "noexec", "nosuid", "nodev", "size=", "mode="];

    /// <summary>
    /// docker's --tmpfs PATH[:OPTIONS]: a tmpfs at PATH, OPTIONS a comma-separated list of rw, ro, size=SIZE (a number
    /// with b, k, m or g), mode=OCTAL, noexec, nosuid, nodev. The mount, or docker's kind of refusal naming the value.
    /// </summary>
    public static (MountSpec? Mount, string? Error) Tmpfs(string text)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var (path, options) = colon < 0 ? (text, string.Empty) : (text[..colon], text[(colon + 1)..]);
        if (!path.StartsWith('/'))
        {
            return (null, $"invalid argument \"{text}\" for \"--tmpfs\" flag: invalid mount path {path}: it must be absolute, e.g. --tmpfs /run:size=64m");
        }

        if (path.TrimEnd('/').Length == 0)
        {
            return (null, $"invalid argument \"{text}\" for \"--tmpfs\" flag: a tmpfs cannot be mounted on /; use --read-only with a --tmpfs on the directories it writes");
        }

        var mount = new MountSpec(MountType.Tmpfs, string.Empty, path);
        foreach (var option in options.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (option.StartsWith("size=", StringComparison.Ordinal))
            {
                if (Bytes(option[5..]) is not { } size)
                {
                    return (null, $"invalid argument \"{text}\" for \"--tmpfs\" flag: '{option}' is not a size; give a number and a unit (b, k, m, g), e.g. size=64m");
                }

                mount = mount with { TmpfsSizeBytes = size };
            }
            else if (option.StartsWith("mode=", StringComparison.Ordinal))
            {
                if (!IsOctal(option[5..]))
                {
                    return (null, $"invalid argument \"{text}\" for \"--tmpfs\" flag: '{option}' is not a mode; give it in octal, e.g. mode=1777");
                }

                mount = mount with { TmpfsMode = Convert.ToInt32(option[5..], 8) };
            }
            else if (option is "ro" or "rw")
            {
                mount = mount with { ReadOnly = option == "ro" };
            }
            else if (option is not ("noexec" or "nosuid" or "nodev"))
            {
                return (null, $"invalid argument \"{text}\" for \"--tmpfs\" flag: option '{option}' is not available here: a tmpfs is always noexec, nosuid and nodev; use {string.Join(", ", KnownOptions)}");
            }
        }

        return (mount, null);
    }

    /// <summary>docker's HostConfig.Tmpfs entry of a --tmpfs: its path and its options as given.</summary>
    public static KeyValuePair<string, string> TmpfsEntry(string text)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? KeyValuePair.Create(text, string.Empty) : KeyValuePair.Create(text[..colon], text[(colon + 1)..]);
    }

    /// <summary>
    /// docker's --expose PORT[/PROTO] or a range START-END[/PROTO]: the ports as docker's Config.ExposedPorts keys ("80/tcp"),
    /// or its refusal.
    /// </summary>
    public static (IReadOnlyList<string> Ports, string? Error) Expose(string text)
    {
        var slash = text.LastIndexOf('/');
        var protocol = slash < 0 ? "tcp" : text[(slash + 1)..].ToLowerInvariant();
        var range = slash < 0 ? text : text[..slash];
        if (protocol is not ("tcp" or "udp"))
        {
            return ([], $"invalid argument \"{text}\" for \"--expose\" flag: invalid proto: {text[(slash + 1)..]}; use tcp or udp");
        }

        var dash = range.IndexOf('-', StringComparison.Ordinal);
        var (first, last) = dash < 0 ? (range, range) : (range[..dash], range[(dash + 1)..]);
        if (!Port(first, out var start) || !Port(last, out var end) || end < start)
        {
            return ([], $"invalid argument \"{text}\" for \"--expose\" flag: invalid range format for --expose: {text}, error: give a port (1-65535) or a range START-END, e.g. --expose 8080 or --expose 7000-7010/udp");
        }

        return ([.. Enumerable.Range(start, end - start + 1).Select(p => string.Create(CultureInfo.InvariantCulture, $"{p}/{protocol}"))], null);
    }

    /// <summary>docker's /dev/shm of a --shm-size: a tmpfs of that size, mode 1777, over the default 64 MiB one.</summary>
    public static MountSpec ShmMount(long bytes) => new(MountType.Tmpfs, string.Empty, "/dev/shm", TmpfsSizeBytes: bytes, TmpfsMode: StickyWorldWritable);

    private static bool Port(string text, out int port) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is > 0 and <= 65535;

    private static bool IsOctal(string text) => text.Length is > 0 and <= 4 && text.All(c => c is >= '0' and <= '7');

    /// <summary>A size as docker's units read it (b, k, m, g; no unit: bytes), or null.</summary>
    private static long? Bytes(string text)
    {
        var trimmed = text.Trim().ToLowerInvariant();
        var hasUnit = trimmed.Length > 0 && char.IsAsciiLetter(trimmed[^1]);
        var shift = (hasUnit ? trimmed[^1] : 'b') switch { 'b' => 0, 'k' => 10, 'm' => 20, 'g' => 30, _ => -1 };
        return shift >= 0 && long.TryParse(hasUnit ? trimmed[..^1] : trimmed, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            && value > 0 && value <= long.MaxValue >> shift
            ? value << shift
            : null;
    }
}
