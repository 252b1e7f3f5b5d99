using System.Net;
using System.Text.RegularExpressions;

namespace ProtoSwarm.Contracts;

/// <summary>
/// What a <see cref="DnsConfig"/> may hold, checked alike by the CLI, the stack loader and the managers:
/// nameservers are IP addresses, search domains are domain names (docker's rule), options are single
/// resolv.conf words such as ndots:2. Each check gives a sentence, or null when the value is fine.
/// </summary>
public static partial class DnsConfigRule
{
    [GeneratedRegex(@"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?$", RegexOptions.CultureInvariant)]
    private static partial Regex Domain();

    [GeneratedRegex(@"^[a-z][a-z0-9-]*(?::[0-9]+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex Option();

    public static string? NameserverProblem(string value) =>
        IPAddress.TryParse(value, out _) && !value.Contains('%', StringComparison.Ordinal) ? null : $"'{value}' is not an IP address of a DNS server";

    /// <summary>A domain name of at most 255 characters, or "." for no search at all (docker's).</summary>
    public static string? SearchProblem(string value) =>
        value == "." || (value.Length <= 255 && Domain().IsMatch(value)) ? null : $"'{value}' is not a DNS search domain";

    public static string? OptionProblem(string value) =>
        Option().IsMatch(value) ? null : $"'{value}' is not a resolver option (written as name or name:number, e.g. ndots:2)";

    /// <summary>Every problem of a config, each with the index it is at.</summary>
    public static IEnumerable<(string Field, string Problem)> Problems(DnsConfig dns)
    {
        foreach (var (values, field, check) in new (System.Collections.Immutable.ImmutableArray<string>, string, Func<string, string?>)[]
                 {
                     (dns.Nameservers, "Nameservers", NameserverProblem), (dns.Search, "Search", SearchProblem), (dns.Options, "Options", OptionProblem),
                 })
        {
            for (var i = 0; i < values.Length; i++)
            {
                if (check(values[i]) is { } problem)
                {
                    yield return ($"{field}[{i}]", problem);
                }
            }
        }
    }
}
