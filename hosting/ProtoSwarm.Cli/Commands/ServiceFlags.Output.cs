using System.Collections.Immutable;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Commands;

/// <summary>Where a task's names resolve and where its output goes: --dns*, --log-driver and --log-opt.</summary>
internal static partial class ServiceFlags
{
    private static IEnumerable<ServiceFlag> ResolverAndLogFlags() =>
    [
        new("--dns", null, "Set custom DNS servers", FlagUse.Create, v => Dns("--dns", v, DnsConfigRule.NameserverProblem)),
        new("--dns-add", null, "Add or update a custom DNS server", FlagUse.Update, v => Dns("--dns-add", v, DnsConfigRule.NameserverProblem)),
        new("--dns-rm", null, "Remove a custom DNS server", FlagUse.Update, v => Dns("--dns-rm", v, DnsConfigRule.NameserverProblem)),
        new("--dns-search", null, "Set custom DNS search domains", FlagUse.Create, v => Dns("--dns-search", v, DnsConfigRule.SearchProblem)),
        new("--dns-search-add", null, "Add or update a custom DNS search domain", FlagUse.Update, v => Dns("--dns-search-add", v, DnsConfigRule.SearchProblem)),
        new("--dns-search-rm", null, "Remove a DNS search domain", FlagUse.Update, v => Dns("--dns-search-rm", v, DnsConfigRule.SearchProblem)),
        new("--dns-option", null, "Set DNS options", FlagUse.Create, v => Dns("--dns-option", v, DnsConfigRule.OptionProblem)),
        new("--dns-option-add", null, "Add or update a DNS option", FlagUse.Update, v => Dns("--dns-option-add", v, DnsConfigRule.OptionProblem)),
        new("--dns-option-rm", null, "Remove a DNS option", FlagUse.Update, v => Dns("--dns-option-rm", v, DnsConfigRule.OptionProblem)),
        new("--log-driver", null, "Logging driver for service (json-file, local or none)", FlagUse.Both, LogDriverName),
        new("--log-opt", null, "Logging driver options (max-size=10m, max-file=3)", FlagUse.Both, v => LogOption(v).Error),
    ];

    internal static string? Dns(string flag, string value, Func<string, string?> problem) =>
        problem(value.Trim()) is { } text ? $"{flag}: {text}." : null;

    internal static string? LogDriverName(string value) =>
        LogDriverRule.Problems(new LogDriver(value.Trim())) is [var (_, problem, fix), ..] ? $"--log-driver: {problem}; {fix}." : null;

    /// <summary>One --log-opt key=value.</summary>
    public static Checked<(string Key, string Value)> LogOption(string value)
    {
        var parts = value.Split('=', 2);
        return parts.Length != 2 || parts[0].Trim().Length == 0
            ? Checked<(string, string)>.Fail($"{Named("--log-opt", value)} is not an option; write it as key=value, e.g. --log-opt max-size=10m.")
            : Checked<(string, string)>.Ok((parts[0].Trim(), parts[1].Trim()));
    }

    /// <summary>
    /// The template's DNS config after create's lists (<paramref name="creating"/>) or update's -add and -rm lists,
    /// as docker applies them: added values join the end unless present, removed ones leave.
    /// </summary>
    private static DnsConfig DnsOf(DnsConfig current, FlagValues flags, bool creating)
    {
        ImmutableArray<string> Apply(ImmutableArray<string> list, string flag) => creating
            ? Distinct([], flags.All(flag), [], v => v.Trim())
            : Distinct(list, flags.All(flag + "-add"), [.. flags.All(flag + "-rm").Select(v => v.Trim())], v => v.Trim());
        return new DnsConfig(Apply(current.Nameservers, "--dns"), Apply(current.Search, "--dns-search"), Apply(current.Options, "--dns-option"));
    }

    /// <summary>
    /// --log-driver with its --log-opt options, for create and update alike: as docker does, a driver given
    /// replaces the template's driver and all its options; options without a driver are refused (docker drops them unsaid).
    /// </summary>
    internal static LogDriver? LogDriverOf(LogDriver? current, FlagValues flags)
    {
        if (flags.Last("--log-driver") is not { } name)
        {
            return flags.Has("--log-opt")
                ? throw new FlagException($"--log-opt needs --log-driver: the options replace the driver's, e.g. --log-driver {current?.Name ?? LogDriverRule.JsonFile} --log-opt max-size=10m.")
                : current;
        }

        var options = ImmutableSortedDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal);
        foreach (var value in flags.All("--log-opt"))
        {
            var (key, text) = LogOption(value).OrThrow();
            options = options.SetItem(key, text);
        }

        var driver = new LogDriver(name.Trim(), options);
        return LogDriverRule.Problems(driver) is [var (_, problem, fix), ..]
            ? throw new FlagException($"--log-driver {driver.Name}: {problem}; {fix}.")
            : driver;
    }
}
