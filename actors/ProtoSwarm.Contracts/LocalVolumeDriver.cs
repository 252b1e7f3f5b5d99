using System.Collections.Immutable;

namespace ProtoSwarm.Contracts;

/// <summary>
/// docker's local volume driver, the only one nodes have: its name and the options it takes (type, device, o, as
/// `mount -t TYPE -o O DEVICE`), checked alike by `volume create -o`, a service's volume-opt (the managers) and the
/// node that creates the volume. Pure.
/// </summary>
public static class LocalVolumeDriver
{
    public const string Name = "local";

    /// <summary>The keys the local driver takes, as docker's.</summary>
    public static readonly ImmutableArray<string> Keys = ["type", "device", "o"];

    /// <summary>What is wrong with the options, as docker's local driver says it, with what to write; null when they are right (none is right).</summary>
    public static string? Problem(IReadOnlyDictionary<string, string> options)
    {
        if (options.Keys.FirstOrDefault(k => !Keys.Contains(k)) is { } unknown)
        {
            return $"invalid option: \"{unknown}\": the local driver takes type, device and o (as `mount -t TYPE -o O DEVICE`)";
        }

        // docker's local driver: a device needs its type and a type its device; o needs both.
        foreach (var (key, needs) in new[] { ("device", "type"), ("type", "device"), ("o", "device"), ("o", "type") })
        {
            if (options.ContainsKey(key) && !options.ContainsKey(needs))
            {
                return $"missing required option: \"{needs}\" (given with \"{key}\"): write e.g. type=tmpfs with device=tmpfs, or type=none with o=bind and device=/path";
            }
        }

        if (options.TryGetValue("type", out var type) && (type.Length == 0 || type.Any(c => char.IsWhiteSpace(c) || c == ',')))
        {
            return $"invalid option: type \"{type}\" is not a filesystem type (tmpfs, nfs, none with o=bind, ...)";
        }

        if (options.TryGetValue("device", out var device) && device.Length == 0)
        {
            return "invalid option: device is empty: give what to mount (tmpfs, a path for o=bind, :/export for nfs)";
        }

        return null;
    }
}
