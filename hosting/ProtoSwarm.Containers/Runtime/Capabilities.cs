namespace ProtoSwarm.Containers.Runtime;

/// <summary>Linux capability names and docker's default set.</summary>
internal static class Capabilities
{
    public static readonly IReadOnlyList<string> Names =
    [
        "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
        "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
        "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
        "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
        "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
        "CHECKPOINT_RESTORE",
    ];

    public static readonly IReadOnlyList<string> DockerDefault =
    [
        "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP", "NET_BIND_SERVICE",
        "NET_RAW", "SYS_CHROOT", "MKNOD", "AUDIT_WRITE", "SETFCAP",
    ];

    public static int? Number(string name)
    {
        var bare = name.StartsWith("CAP_", StringComparison.OrdinalIgnoreCase) ? name[4..] : name;
        for (var i = 0; i < Names.Count; i++)
        {
            if (string.Equals(Names[i], bare, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }
        return null;
    }

    public static bool Has(ulong mask, string name) => (mask & (1UL << Number(name)!.Value)) != 0;

    /// <summary>Docker's rule: the default set, then drops, then adds ("ALL" in either means every capability).</summary>
    public static ulong Compute(IEnumerable<string> add, IEnumerable<string> drop)
    {
        var all = (1UL << Names.Count) - 1;
        var mask = DockerDefault.Aggregate(0UL, (m, n) => m | (1UL << Number(n)!.Value));
        foreach (var name in drop)
        {
            mask = IsAll(name) ? 0 : mask & ~(1UL << Number(name)!.Value);
        }
        foreach (var name in add)
        {
            mask = IsAll(name) ? all : mask | (1UL << Number(name)!.Value);
        }
        return mask;
    }

    public static bool IsAll(string name) => string.Equals(name, "ALL", StringComparison.OrdinalIgnoreCase);
}
