using System.Collections.Immutable;
using System.Globalization;

namespace ProtoSwarm.Containers.Runtime.Cgroups;

/// <summary>One device rule: a type ('c' character, 'b' block, 'a' both), a major and a minor number
/// (null: any) and the access it allows, letters of "rwm" (read, write, mknod).</summary>
internal sealed record DeviceRule(char Type, int? Major, int? Minor, string Access)
{
    /// <summary>The rule as v1's devices.allow reads it: "c 1:3 rwm", "b *:* m".</summary>
    public override string ToString() => $"{Type} {Number(Major)}:{Number(Minor)} {Access}";

    private static string Number(int? n) => n?.ToString(CultureInfo.InvariantCulture) ?? "*";
}

/// <summary>The devices a container may use, the same on v1 (devices.allow) and v2 (an eBPF program).</summary>
internal static class DeviceRules
{
    /// <summary>
    /// Docker's default device rules: any device node may be made (MKNOD is a default capability), but
    /// only these may be opened: null, zero, full, random, urandom, tty, console, ptmx, the ptys and tun.
    /// Without them a container could make a node for a host disk and read it.
    /// </summary>
    public static readonly ImmutableArray<DeviceRule> Default =
    [
        new('c', null, null, "m"), new('b', null, null, "m"),
        new('c', 1, 3, "rwm"), new('c', 1, 5, "rwm"), new('c', 1, 7, "rwm"), new('c', 1, 8, "rwm"), new('c', 1, 9, "rwm"),
        new('c', 5, 0, "rwm"), new('c', 5, 1, "rwm"), new('c', 5, 2, "rwm"), new('c', 136, null, "rwm"), new('c', 10, 200, "rwm"),
    ];
}
