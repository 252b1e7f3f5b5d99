using System.Globalization;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Commands;

/// <summary>
/// Checks of flag values, run by the parser before anything is sent to the node. Each failure is
/// one sentence that names the flag, the value and what is allowed.
/// </summary>
internal static class ArgumentRules
{
    public const int DefaultSwarmPort = 2377;

    /// <summary>Where the command's own words start: after the leading `-H HOST`, `--host HOST` or `--host=HOST`.</summary>
    public static int AfterHost(IReadOnlyList<string> args)
    {
        var at = 0;
        while (at < args.Count && (args[at] is "-H" or "--host" || args[at].StartsWith("--host=", StringComparison.Ordinal)))
        {
            at += args[at].Contains('=', StringComparison.Ordinal) ? 1 : 2;
        }

        return at;
    }

    /// <summary>
    /// Docker reads everything after a command's first operand (run's IMAGE, exec's CONTAINER, service create's IMAGE)
    /// as the container's command, flags included (`run busybox ls -l`); System.CommandLine would take `-l` for an
    /// option of its own, so a `--` goes in after that operand. From <paramref name="from"/>, flags are skipped (with
    /// the value of those in <paramref name="valued"/>) to the first operand; a `--` before it leaves the line as it is,
    /// and so does one right after it when <paramref name="unlessSeparated"/>.
    /// </summary>
    public static IReadOnlyList<string> SeparateAfterFirstOperand(IReadOnlyList<string> args, int from, IReadOnlySet<string> valued, bool unlessSeparated)
    {
        for (var i = from; i < args.Count; i++)
        {
            var token = args[i];
            if (token == "--")
            {
                return args;
            }

            if (token.StartsWith('-') && token.Length > 1)
            {
                if (!token.Contains('=', StringComparison.Ordinal) && valued.Contains(token))
                {
                    i++;
                }

                continue;
            }

            return i + 1 < args.Count && !(unlessSeparated && args[i + 1] == "--") ? [.. args.Take(i + 1), "--", .. args.Skip(i + 1)] : args;
        }

        return args;
    }

    public static Checked<NodeAvailability> Availability(string value) => value.ToLowerInvariant() switch
    {
        "active" => Checked<NodeAvailability>.Ok(NodeAvailability.Active),
        "pause" => Checked<NodeAvailability>.Ok(NodeAvailability.Pause),
        "drain" => Checked<NodeAvailability>.Ok(NodeAvailability.Drain),
        _ => Checked<NodeAvailability>.Fail($"--availability '{value}' is not valid; use active, pause or drain."),
    };

    public static Checked<NodeRole> Role(string value) => value switch
    {
        "worker" => Checked<NodeRole>.Ok(NodeRole.Worker),
        "manager" => Checked<NodeRole>.Ok(NodeRole.Manager),
        _ => Checked<NodeRole>.Fail($"'{value}' is not a role; use worker or manager."),
    };

    /// <summary>
    /// `--label-add key=value`, or `key` alone for an empty value, as docker's `node update` takes it
    /// (its ConvertKVStringsToMap: `--label-add ssd` stores ssd=""). The key may not be empty.
    /// </summary>
    public static Checked<KeyValuePair<string, string>> LabelAdd(string value)
    {
        var parts = value.Split('=', 2);
        var key = parts[0].Trim();
        return key.Length == 0
            ? Checked<KeyValuePair<string, string>>.Fail($"--label-add '{value}' has no key; write it as key=value (or key alone for an empty value).")
            : key.Any(char.IsWhiteSpace)
            ? Checked<KeyValuePair<string, string>>.Fail($"--label-add '{value}' has a space in its key; write it as key=value (or key alone for an empty value).")
            : Checked<KeyValuePair<string, string>>.Ok(new(key, parts.Length > 1 ? parts[1] : string.Empty));
    }

    public static Checked<string> LabelRemove(string value) =>
        value.Trim().Length == 0 || value.Contains('=', StringComparison.Ordinal)
            ? Checked<string>.Fail($"--label-rm '{value}' must be a label key alone, without '=value'.")
            : Checked<string>.Ok(value.Trim());

    /// <summary>The manager to join: HOST:PORT, or HOST alone for docker's default port 2377.</summary>
    public static Checked<string> RemoteAddr(string value)
    {
        const string Usage = "give the manager's address as HOST:PORT (for example 10.0.0.1:2377)";
        var (host, port, error) = SplitHostPort(value);
        if (error is not null)
        {
            return Checked<string>.Fail($"'{value}' is not a manager address: {error}; {Usage}.");
        }

        if (Uri.CheckHostName(host) == UriHostNameType.Unknown)
        {
            return Checked<string>.Fail($"'{value}' is not a manager address: '{host}' is not a host name or IP address; {Usage}.");
        }

        var hostPart = host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host;
        return Checked<string>.Ok($"{hostPart}:{(port ?? DefaultSwarmPort).ToString(CultureInfo.InvariantCulture)}");
    }

    /// <summary>`--advertise-addr`: an address or an interface name, with an optional port.</summary>
    public static Checked<string> AdvertiseAddr(string value)
    {
        var (host, _, error) = SplitHostPort(value);
        if (error is not null)
        {
            return Checked<string>.Fail($"--advertise-addr '{value}' is not valid: {error}; use <ip|interface>[:port], for example 10.0.0.1 or eth0:2377.");
        }

        return host.Any(c => char.IsWhiteSpace(c) || c == '/')
            ? Checked<string>.Fail($"--advertise-addr '{value}' is not an IP address or interface name; use <ip|interface>[:port], for example 10.0.0.1 or eth0:2377.")
            : Checked<string>.Ok(value);
    }

    public static Checked<string> JoinToken(string value) =>
        JoinTokenFormat.LooksLikeToken(value)
            ? Checked<string>.Ok(value)
            : Checked<string>.Fail(
                $"--token '{value}' is not a join token; tokens look like {JoinTokenFormat.Prefix}...; print one with 'protoswarm swarm join-token worker' on a manager.");

    public static Checked<string> NodeRef(string value) =>
        value.Trim().Length == 0
            ? Checked<string>.Fail("A node must be named by its id, an id prefix, its hostname, or 'self'; got an empty name.")
            : Checked<string>.Ok(value.Trim());

    /// <summary>`--host`/`-H`: the control socket, as unix:///path (docker's form) or a plain absolute path.</summary>
    /// <summary>A Go-style duration as docker takes it: 90s, 45m, 720h, 1h30m.</summary>
    public static Checked<TimeSpan> Duration(string flag, string value)
    {
        var match = System.Text.RegularExpressions.Regex.Match(value.Trim(), @"^(?:(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h))+$");
        if (!match.Success)
        {
            return Checked<TimeSpan>.Fail($"{flag} '{value}' is not a duration; use a number and a unit (ns, us, ms, s, m, h), e.g. 720h or 1h30m.");
        }

        var total = TimeSpan.Zero;
        for (var i = 0; i < match.Groups[1].Captures.Count; i++)
        {
            var amount = double.Parse(match.Groups[1].Captures[i].Value, CultureInfo.InvariantCulture);
            total += match.Groups[2].Captures[i].Value switch
            {
                "h" => TimeSpan.FromHours(amount),
                "m" => TimeSpan.FromMinutes(amount),
                "s" => TimeSpan.FromSeconds(amount),
                "ms" => TimeSpan.FromMilliseconds(amount),
                "us" or "µs" => TimeSpan.FromMicroseconds(amount),
                _ => TimeSpan.FromTicks((long)(amount / 100)),
            };
        }

        return Checked<TimeSpan>.Ok(total);
    }

    /// <summary>
    /// `--task-history-limit`: tasks kept per slot (or node), the live one included, as swarmkit's
    /// TaskHistoryRetentionLimit; any whole number, a negative one keeping every task.
    /// </summary>
    public static Checked<long> TaskHistoryLimit(string value) =>
        long.TryParse(value.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var limit)
            ? Checked<long>.Ok(limit)
            : Checked<long>.Fail($"--task-history-limit '{value}' is not a whole number; give the tasks to keep per replica or node, the running one included (default 5; -1 keeps every task).");

    /// <summary>
    /// `--host`: the node's control socket (unix:///path), or a manager's API over mutual TLS (tcp://IP[:PORT]) with the
    /// client certificate in $PROTOSWARM_CERT_PATH (default ~/.protoswarm).
    /// </summary>
    public static Checked<string> Host(string value)
    {
        const string UnixScheme = "unix://";
        const string TcpScheme = "tcp://";
        if (value.StartsWith(TcpScheme, StringComparison.Ordinal))
        {
            var remote = RemoteAddr(value[TcpScheme.Length..]);
            return remote.Error is null
                ? Checked<string>.Ok(TcpScheme + remote.Value)
                : Checked<string>.Fail($"--host '{value}': {remote.Error}");
        }

        var path = value.StartsWith(UnixScheme, StringComparison.Ordinal) ? value[UnixScheme.Length..] : value;
        if (path.StartsWith('/') && path.Length > 1)
        {
            return Checked<string>.Ok(path);
        }

        return value.Contains("://", StringComparison.Ordinal) && !value.StartsWith(UnixScheme, StringComparison.Ordinal)
            ? Checked<string>.Fail($"--host '{value}': use unix:///path/to/control.sock for a node's control socket, or tcp://IP:PORT for a manager's API with a client certificate.")
            : Checked<string>.Fail($"--host '{value}' is not a socket path or a tcp:// address; use unix:///path/to/control.sock (default unix:///var/lib/protoswarm/control.sock) or tcp://IP:PORT.");
    }

    private static (string Host, int? Port, string? Error) SplitHostPort(string value)
    {
        var text = value.Trim();
        if (text.Length == 0)
        {
            return (text, null, "it is empty");
        }

        string host;
        string? portText = null;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                return (text, null, "'[' is never closed");
            }

            host = text[1..close];
            var rest = text[(close + 1)..];
            if (rest.Length > 0)
            {
                if (!rest.StartsWith(':'))
                {
                    return (host, null, $"'{rest}' follows the address");
                }

                portText = rest[1..];
            }
        }
        else if (text.Count(c => c == ':') > 1)
        {
            host = text; // a bare IPv6 address
        }
        else
        {
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            host = colon < 0 ? text : text[..colon];
            portText = colon < 0 ? null : text[(colon + 1)..];
        }

        if (host.Length == 0)
        {
            return (host, null, "the host is missing");
        }

        if (portText is null)
        {
            return (host, null, null);
        }

        return int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535
            ? (host, port, null)
            : (host, null, $"the port '{portText}' is not a number from 1 to 65535");
    }

    /// <summary>
    /// `--external-ca protocol=cfssl,url=URL[,cacert=FILE]`, parsed as docker's CLI parses it (a CSV record of
    /// key=value fields; the cacert file is read here and must hold PEM). The managers check the URL and certificate.
    /// </summary>
    public static Checked<ExternalCa> ExternalCa(string value)
    {
        string? protocol = null, url = null, caCert = null;
        var fields = CsvRecord.Read("--external-ca", value);
        if (!fields.IsValid)
        {
            return Checked<ExternalCa>.Fail(fields.Error!);
        }

        foreach (var field in fields.Value)
        {
            var eq = field.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0)
            {
                return Checked<ExternalCa>.Fail($"--external-ca '{value}': invalid field '{field}' must be a key=value pair, e.g. protocol=cfssl,url=https://ca.example.com:8888");
            }

            var (key, text) = (field[..eq], field[(eq + 1)..]);
            switch (key)
            {
                case "protocol":
                    if (!text.Equals(Contracts.ExternalCa.Cfssl, StringComparison.OrdinalIgnoreCase))
                    {
                        return Checked<ExternalCa>.Fail($"--external-ca '{value}': unrecognized external CA protocol {text}; the one protocol is cfssl");
                    }

                    protocol = Contracts.ExternalCa.Cfssl;
                    break;
                case "url":
                    url = text;
                    break;
                case "cacert":
                    try
                    {
                        caCert = File.ReadAllText(text);
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
                    {
                        return Checked<ExternalCa>.Fail($"--external-ca cacert={text}: unable to read CA cert for external CA ({(e is FileNotFoundException or DirectoryNotFoundException ? "no such file" : e.Message)})");
                    }

                    if (!caCert.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal))
                    {
                        return Checked<ExternalCa>.Fail($"--external-ca cacert={text}: CA cert for external CA must be in PEM format (-----BEGIN CERTIFICATE-----)");
                    }

                    break;
                default:
                    return Checked<ExternalCa>.Fail($"--external-ca '{value}': unknown field '{key}'; the fields are protocol, url and cacert");
            }
        }

        if (protocol is null)
        {
            return Checked<ExternalCa>.Fail($"--external-ca '{value}': the external-ca option needs a protocol= parameter (protocol=cfssl)");
        }

        return url is null
            ? Checked<ExternalCa>.Fail($"--external-ca '{value}': the external-ca option needs a url= parameter")
            : Checked<ExternalCa>.Ok(new ExternalCa(protocol, url, caCert ?? string.Empty));
    }
}
