using System.Collections.Immutable;
using System.Globalization;
using System.Net;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Commands;

/// <summary>The container's identity and confinement flags: hostname, read-only root, capabilities, ulimits, hosts, groups, pids limit, init, terminal, sysctls.</summary>
internal static partial class ServiceFlags
{
    private static readonly string[] UlimitNames =
        ["core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"];

    private static IEnumerable<ServiceFlag> ConfinementFlags() =>
    [
        new("--hostname", null, "Container hostname", FlagUse.Both, v => Hostname("--hostname", v)),
        new("--read-only", null, "Mount the container's root filesystem as read only", FlagUse.Both),
        new("--cap-add", null, "Add Linux capabilities", FlagUse.Both, v => Capability("--cap-add", v).Error),
        new("--cap-drop", null, "Drop Linux capabilities", FlagUse.Both, v => Capability("--cap-drop", v).Error),
        new("--ulimit", null, "Ulimit options (name=soft[:hard], e.g. nofile=1024:2048)", FlagUse.Create, v => UlimitOf("--ulimit", v).Error),
        new("--ulimit-add", null, "Add or update a ulimit option", FlagUse.Update, v => UlimitOf("--ulimit-add", v).Error),
        new("--ulimit-rm", null, "Remove a ulimit option by its name", FlagUse.Update, v => UlimitNames.Contains(v) ? null : $"--ulimit-rm '{v}' is not a ulimit; use one of {string.Join(", ", UlimitNames)}."),
        new("--host", null, "Set one or more custom host-to-IP mappings (host:ip)", FlagUse.Create, v => HostOf("--host", v).Error),
        new("--host-add", null, "Add a custom host-to-IP mapping (host:ip)", FlagUse.Update, v => HostOf("--host-add", v).Error),
        new("--host-rm", null, "Remove a custom host-to-IP mapping (host:ip, or host)", FlagUse.Update, v => v.Trim().Length == 0 ? "--host-rm: name the host to remove." : null),
        new("--group", null, "Set one or more supplementary user groups for the container", FlagUse.Create, v => GroupOf("--group", v)),
        new("--group-add", null, "Add an additional supplementary user group to the container", FlagUse.Update, v => GroupOf("--group-add", v)),
        new("--group-rm", null, "Remove a previously added supplementary user group from the container", FlagUse.Update, v => GroupOf("--group-rm", v)),
        new("--limit-pids", null, "Limit maximum number of processes (default 0 = unlimited)", FlagUse.Both, v => Count("--limit-pids", v).Error),
        new("--init", null, "Use an init inside each service container to forward signals and reap processes", FlagUse.Both),
        new("--tty", "-t", "Allocate a pseudo-TTY", FlagUse.Both),
        new("--sysctl", null, "Sysctl options (key=value, namespaced only, e.g. net.core.somaxconn=1024)", FlagUse.Create, v => SysctlOf("--sysctl", v).Error),
        new("--sysctl-add", null, "Add or update a Sysctl option", FlagUse.Update, v => SysctlOf("--sysctl-add", v).Error),
        new("--sysctl-rm", null, "Remove a Sysctl option by its key", FlagUse.Update, v => Key("--sysctl-rm", v).Error),
        new("--isolation", null, "Service container isolation mode (only \"default\" on Linux)", FlagUse.Both, Isolation),
    ];

    /// <summary>
    /// docker's --isolation: "default" (or nothing) is the only mode of a Linux container, which every
    /// spec has, so there is nothing to store and inspect always shows "Isolation": "default", as
    /// docker's. process and hyperv are Windows' modes; docker's daemon refuses them (and any other
    /// word) for a Linux container in these words, here before anything is sent.
    /// </summary>
    public static string? Isolation(string value) => value.Trim().Length == 0 || value.Trim().Equals("default", StringComparison.OrdinalIgnoreCase)
        ? null
        : $"--isolation: Invalid isolation: \"{value}\" - linux only supports 'default'.";

    /// <summary>`service create`: the list flags of the confinement group.</summary>
    private static ContainerSpec CreateConfinement(ContainerSpec container, FlagValues flags) => container with
    {
        CapabilityAdd = Distinct([], flags.All("--cap-add"), [], v => Capability("--cap-add", v).OrThrow()),
        CapabilityDrop = Distinct([], flags.All("--cap-drop"), [], v => Capability("--cap-drop", v).OrThrow()),
        Ulimits = Ulimits([], flags.All("--ulimit"), []),
        Hosts = HostLines([], flags.All("--host"), []),
        Groups = Distinct([], flags.All("--group"), [], v => v.Trim()),
        Sysctls = Sysctls(NamespacedSysctls.None, flags.All("--sysctl"), []),
    };

    /// <summary>
    /// `service update`: as docker does, --cap-add takes a capability out of the dropped list and
    /// --cap-drop out of the added one; the other lists get -add then -rm.
    /// </summary>
    private static ContainerSpec UpdateConfinement(ContainerSpec container, FlagValues flags)
    {
        var add = flags.All("--cap-add").Select(v => Capability("--cap-add", v).OrThrow()).ToList();
        var drop = flags.All("--cap-drop").Select(v => Capability("--cap-drop", v).OrThrow()).ToList();
        return container with
        {
            CapabilityAdd = Distinct(container.CapabilityAdd, add, drop, v => v),
            CapabilityDrop = Distinct(container.CapabilityDrop, drop, add, v => v),
            Ulimits = Ulimits(container.Ulimits, flags.All("--ulimit-add"), flags.All("--ulimit-rm")),
            Hosts = HostLines(container.Hosts, flags.All("--host-add"), flags.All("--host-rm")),
            Groups = Distinct(container.Groups, flags.All("--group-add"), [.. flags.All("--group-rm").Select(g => g.Trim())], v => v.Trim()),
            Sysctls = Sysctls(container.Sysctls, flags.All("--sysctl-add"), flags.All("--sysctl-rm")),
        };
    }

    /// <summary>
    /// Create and update alike: the scalar flags of the group. --init, --read-only and --tty as docker reads them:
    /// given, they set the spec's value (--read-only=false to false); left out, the spec keeps what it had.
    /// </summary>
    private static ContainerSpec CommonConfinement(ContainerSpec container, FlagValues flags) => container with
    {
        Hostname = flags.Last("--hostname") ?? container.Hostname,
        ReadOnly = flags.Switch("--read-only") ?? container.ReadOnly,
        Init = flags.Switch("--init") ?? container.Init,
        TTY = flags.Switch("--tty") ?? container.TTY,
    };

    /// <summary>Docker's --sysctl key=value; only a namespaced key (see <see cref="NamespacedSysctls"/>).</summary>
    public static Checked<(string Key, string Value)> SysctlOf(string flag, string value)
    {
        var parts = value.Split('=', 2);
        var key = parts[0].Trim();
        if (parts.Length != 2 || key.Length == 0 || parts[1].Trim().Length == 0)
        {
            return Checked<(string, string)>.Fail($"{Named(flag, value)} is not a sysctl setting; write it as key=value, e.g. net.core.somaxconn=1024.");
        }

        return NamespacedSysctls.Problem(key) is { } problem
            ? Checked<(string, string)>.Fail($"{Named(flag, value)}: {problem}; use {NamespacedSysctls.Allowed}.")
            : Checked<(string, string)>.Ok((key, parts[1].Trim()));
    }

    internal static ImmutableSortedDictionary<string, string> Sysctls(ImmutableSortedDictionary<string, string> current, IReadOnlyList<string> add, IReadOnlyList<string> removeKeys)
    {
        foreach (var value in add)
        {
            var (key, text) = SysctlOf("--sysctl", value).OrThrow();
            current = current.SetItem(key, text);
        }

        return current.RemoveRange(removeKeys.Select(k => k.Trim()));
    }

    /// <summary>A hostname, or a docker template that gives one (`{{.Node.Hostname}}-{{.Task.Slot}}`), judged by its stand-in expansion.</summary>
    public static string? Hostname(string flag, string value)
    {
        if (ServiceTemplates.Problem(value, "", out var expanded) is { } problem)
        {
            return $"{Named(flag, value)}: {problem}.";
        }

        // As docker: '_' (in every stack service's name) and the rest are the container's to judge; only what sethostname refuses is.
        return ServiceSpecValidator.HostnameProblem(expanded) is null
            ? null
            : $"{Named(flag, value)} is not a hostname; use at most {ServiceSpecValidator.MaxHostnameBytes} bytes with no white space.";
    }

    /// <summary>A capability as swarmkit stores it: upper case with the CAP_ prefix, or ALL.</summary>
    public static Checked<string> Capability(string flag, string value)
    {
        var name = value.Trim().ToUpperInvariant();
        if (name == "ALL")
        {
            return Checked<string>.Ok(name);
        }

        var bare = name.StartsWith("CAP_", StringComparison.Ordinal) ? name[4..] : name;
        return bare.Length > 0 && bare.All(c => char.IsAsciiLetterUpper(c) || c == '_')
            ? Checked<string>.Ok("CAP_" + bare)
            : Checked<string>.Fail($"{Named(flag, value)} is not a capability; name one such as NET_ADMIN or CAP_SYS_TIME, or ALL.");
    }

    /// <summary>Docker's --ulimit name=soft[:hard]; -1 is unlimited.</summary>
    public static Checked<Ulimit> UlimitOf(string flag, string value)
    {
        const string Usage = "write it as name=soft[:hard], e.g. nofile=1024:2048";
        var parts = value.Split('=', 2);
        if (parts.Length != 2 || !UlimitNames.Contains(parts[0].Trim()))
        {
            return Checked<Ulimit>.Fail($"{Named(flag, value)}: {(parts.Length == 2 ? $"'{parts[0].Trim()}' is not a ulimit (use one of {string.Join(", ", UlimitNames)})" : Usage)}.");
        }

        var numbers = parts[1].Split(':');
        if (numbers.Length > 2 || !numbers.All(n => long.TryParse(n, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var x) && x >= -1))
        {
            return Checked<Ulimit>.Fail($"{Named(flag, value)}: the limits are whole numbers (-1 for unlimited); {Usage}.");
        }

        var soft = long.Parse(numbers[0], CultureInfo.InvariantCulture);
        var hard = numbers.Length == 2 ? long.Parse(numbers[1], CultureInfo.InvariantCulture) : soft;
        if (hard != -1 && (soft == -1 || soft > hard))
        {
            return Checked<Ulimit>.Fail($"{Named(flag, value)}: the soft limit {soft} is above the hard limit {hard}.");
        }

        return Checked<Ulimit>.Ok(new Ulimit(parts[0].Trim(), soft, hard));
    }

    /// <summary>Docker's --host host:ip, stored as swarmkit's hosts line "ip host".</summary>
    public static Checked<string> HostOf(string flag, string value)
    {
        var at = value.IndexOf(':', StringComparison.Ordinal);
        var (host, ip) = at > 0 ? (value[..at].Trim(), value[(at + 1)..].Trim()) : ("", "");
        return host.Length > 0 && IPAddress.TryParse(ip, out _) && !host.Any(char.IsWhiteSpace)
            ? Checked<string>.Ok($"{ip} {host}")
            : Checked<string>.Fail($"{Named(flag, value)} is not a host mapping; write it as name:IP, e.g. db:10.0.0.5.");
    }

    internal static string? GroupOf(string flag, string value) =>
        value.Trim().Length == 0 || value.Contains(':', StringComparison.Ordinal) || value.Any(char.IsWhiteSpace)
            ? $"{Named(flag, value)} is not a group; give a group name from the image or a number, e.g. 2000."
            : null;

    internal static ImmutableArray<Ulimit> Ulimits(ImmutableArray<Ulimit> current, IReadOnlyList<string> add, IReadOnlyList<string> removeNames)
    {
        var limits = current.ToList();
        foreach (var value in add)
        {
            var limit = UlimitOf("--ulimit", value).OrThrow();
            limits.RemoveAll(l => l.Name == limit.Name);
            limits.Add(limit);
        }

        return [.. limits.Where(l => !removeNames.Contains(l.Name, StringComparer.Ordinal))];
    }

    /// <summary>Hosts lines: adding a name replaces its earlier mapping; removing takes "host" or "host:ip".</summary>
    internal static ImmutableArray<string> HostLines(ImmutableArray<string> current, IReadOnlyList<string> add, IReadOnlyList<string> remove)
    {
        var lines = current.ToList();
        foreach (var value in add)
        {
            var line = HostOf("--host", value).OrThrow();
            var name = line.Split(' ')[1];
            lines.RemoveAll(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Contains(name, StringComparer.Ordinal));
            lines.Add(line);
        }

        foreach (var value in remove)
        {
            var at = value.IndexOf(':', StringComparison.Ordinal);
            var name = (at > 0 ? value[..at] : value).Trim();
            var ip = at > 0 ? value[(at + 1)..].Trim() : null;
            lines.RemoveAll(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [var lineIp, .. var names]
                && names.Contains(name, StringComparer.Ordinal) && (ip is null || lineIp == ip));
        }

        return [.. lines];
    }
}
