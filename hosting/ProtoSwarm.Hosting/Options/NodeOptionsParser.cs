using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace ProtoSwarm.Hosting.Options;

/// <summary>
/// Parses and checks protoswarmd's command line. Every problem is reported as a sentence naming
/// the flag and what to do; nothing starts while any is left.
/// </summary>
public static class NodeOptionsParser
{
    public const string Usage = """
        Usage: protoswarmd [OPTIONS]

        The ProtoSwarm node host: run one on every machine of the swarm.

        Options:
          --state DIR              State directory (default /var/lib/protoswarm)
          --listen-addr IP:PORT    Address for the swarm's traffic (default 0.0.0.0:2377)
          --advertise-addr IP      Address other nodes use to reach this one (default: detected)
          --registry-listen IP:PORT  On a manager, a plain HTTP listener of the swarm's registry for
                                   outside tools, with basic auth by `protoswarm registry token`
                                   (default: none; the registry is always on the swarm's mTLS address)
          --control-socket PATH    The local control socket (default STATE/control.sock, root-only)
          --hostname NAME          The node's name in the swarm (default: this machine's hostname)
          --label KEY=VALUE        An engine label of this node, as dockerd's --label (repeatable);
                                   place services with --constraint engine.labels.KEY==VALUE
          --log-level LEVEL        trace, debug, information, warning or error (default information);
                                   debug and trace also write peers' connection failures in full
          --executor KIND          What runs this node's tasks: linux (default: real containers, with
                                   protoswarm-init next to protoswarmd), none (tasks are refused) or
                                   fake (a test executor that runs no process; see FakeExecutor)
          --max-concurrent-starts N  How many containers this node prepares and starts at once; the
                                   others wait their turn in order; 0: no limit (default 0, or
                                   $PROTOSWARM_MAX_CONCURRENT_STARTS)
          --container-monitor MODE  shared: one monitor process supervises all the containers this
                                   node host starts (default); per-container: one monitor process each
                                   (or $PROTOSWARM_CONTAINER_MONITOR)
          -h, --help               Show this help
        """;

    public sealed record Result(NodeOptions Options, string LogLevel, bool Help, IReadOnlyList<string> Errors);

    /// <summary>The variable that sets --max-concurrent-starts when the flag is not given.</summary>
    public const string MaxConcurrentStartsVariable = "PROTOSWARM_MAX_CONCURRENT_STARTS";

    /// <summary>The variable that sets --container-monitor when the flag is not given.</summary>
    public const string ContainerMonitorVariable = "PROTOSWARM_CONTAINER_MONITOR";

    public static Result Parse(IReadOnlyList<string> args) => Parse(args, Environment.GetEnvironmentVariable);

    /// <param name="environment">Reads an environment variable (null: unset); the flags win over it.</param>
    public static Result Parse(IReadOnlyList<string> args, Func<string, string?> environment)
    {
        var errors = new List<string>();
        var options = new NodeOptions { Executor = "linux" };
        if (environment(MaxConcurrentStartsVariable) is { Length: > 0 } fromEnvironment)
        {
            options = WithMaxConcurrentStarts(options, fromEnvironment, $"${MaxConcurrentStartsVariable}={fromEnvironment}", ", or unset it", errors);
        }
        if (environment(ContainerMonitorVariable) is { Length: > 0 } monitorFromEnvironment)
        {
            options = WithContainerMonitor(options, monitorFromEnvironment, $"${ContainerMonitorVariable}={monitorFromEnvironment}", ", or unset it", errors);
        }

        var logLevel = "information";
        var help = false;
        for (var i = 0; i < args.Count; i++)
        {
            var (flag, inline) = SplitFlag(args[i]);
            string? Value()
            {
                if (inline is not null)
                {
                    return inline;
                }

                if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    return args[++i];
                }

                errors.Add($"{flag} needs a value; see `protoswarmd --help`.");
                return null;
            }

            switch (flag)
            {
                case "-h" or "--help":
                    help = true;
                    break;
                case "--state":
                    if (Value() is { } state)
                    {
                        options = options with { StateDir = Path.GetFullPath(state) };
                    }

                    break;
                case "--listen-addr":
                    if (Value() is { } listen)
                    {
                        if (TryParseEndpoint(listen, NodeOptions.DefaultPort, out var endpoint))
                        {
                            options = options with { ListenAddr = endpoint };
                        }
                        else
                        {
                            errors.Add($"--listen-addr {listen}: expected IP:PORT, e.g. 0.0.0.0:2377, with a port from 1 to 65535.");
                        }
                    }

                    break;
                case "--registry-listen":
                    if (Value() is { } registry)
                    {
                        if (TryParseEndpoint(registry, 5000, out var endpoint))
                        {
                            options = options with { RegistryListen = endpoint };
                        }
                        else
                        {
                            errors.Add($"--registry-listen {registry}: expected IP:PORT, e.g. 127.0.0.1:5000, with a port from 1 to 65535.");
                        }
                    }

                    break;
                case "--advertise-addr":
                    if (Value() is { } advertise)
                    {
                        if (TryParseEndpoint(advertise, NodeOptions.DefaultPort, out var endpoint) &&
                            !endpoint.Address.Equals(IPAddress.Any) && !endpoint.Address.Equals(IPAddress.IPv6Any))
                        {
                            options = options with { AdvertiseAddr = endpoint.Address };
                        }
                        else
                        {
                            errors.Add($"--advertise-addr {advertise}: expected this node's IP address as other nodes reach it, e.g. 10.0.0.1 (not 0.0.0.0).");
                        }
                    }

                    break;
                case "--control-socket":
                    if (Value() is { } socket)
                    {
                        options = options with { ControlSocketOverride = Path.GetFullPath(socket) };
                    }

                    break;
                case "--hostname":
                    if (Value() is { } hostname)
                    {
                        if (IsValidHostname(hostname))
                        {
                            options = options with { Hostname = hostname };
                        }
                        else
                        {
                            errors.Add($"--hostname {hostname}: use letters, digits, '-', '_' and '.', at most 253 characters.");
                        }
                    }

                    break;
                case "--label":
                    if (Value() is { } label)
                    {
                        options = WithEngineLabel(options, label, errors);
                    }

                    break;
                case "--log-level":
                    if (Value() is { } level)
                    {
                        if (level is "trace" or "debug" or "information" or "warning" or "error")
                        {
                            logLevel = level;
                        }
                        else
                        {
                            errors.Add($"--log-level {level}: use trace, debug, information, warning or error.");
                        }
                    }

                    break;
                case "--executor":
                    if (Value() is { } executor)
                    {
                        if (executor is "linux" or "none" or "fake")
                        {
                            options = options with { Executor = executor };
                        }
                        else
                        {
                            errors.Add($"--executor {executor}: use linux (real containers), none (refuse tasks) or fake (the test executor).");
                        }
                    }

                    break;
                case "--max-concurrent-starts":
                    if (Value() is { } maxStarts)
                    {
                        options = WithMaxConcurrentStarts(options, maxStarts, $"--max-concurrent-starts {maxStarts}", string.Empty, errors);
                    }

                    break;
                case "--container-monitor":
                    if (Value() is { } monitor)
                    {
                        options = WithContainerMonitor(options, monitor, $"--container-monitor {monitor}", string.Empty, errors);
                    }

                    break;
                default:
                    errors.Add($"Unknown option {args[i]}; see `protoswarmd --help`.");
                    break;
            }
        }

        return new Result(options, logLevel, help, errors);
    }

    /// <summary>
    /// The options with one more engine label, KEY=VALUE as dockerd takes it (the value may be empty or hold '=');
    /// unchanged, with an error, when there is no '=', the key is empty or has white space around it, or the key is
    /// already given another value (dockerd's "conflict labels"). The same label twice is one label.
    /// </summary>
    private static NodeOptions WithEngineLabel(NodeOptions options, string text, List<string> errors)
    {
        var equals = text.IndexOf('=', StringComparison.Ordinal);
        var key = equals < 0 ? text : text[..equals];
        if (equals < 0)
        {
            errors.Add($"--label {text}: an engine label is KEY=VALUE, e.g. --label disk=ssd (an empty value: --label {text}=).");
        }
        else if (key.Length == 0)
        {
            errors.Add($"--label {text}: the label has no key; write KEY=VALUE, e.g. --label disk=ssd.");
        }
        else if (key.Trim() != key)
        {
            errors.Add($"--label {text}: the key '{key}' starts or ends with white space; write KEY=VALUE, e.g. --label disk=ssd.");
        }
        else if (options.EngineLabels.TryGetValue(key, out var given) && given != text[(equals + 1)..])
        {
            errors.Add($"--label {text}: the key '{key}' is already given the value '{given}' (--label {key}={given}); give each key one value.");
        }
        else
        {
            return options with { EngineLabels = options.EngineLabels.SetItem(key, text[(equals + 1)..]) };
        }

        return options;
    }

    /// <summary>The options with the start limit <paramref name="text"/> gives; unchanged, with an error naming where it came from, when it is not a count.</summary>
    private static NodeOptions WithMaxConcurrentStarts(NodeOptions options, string text, string where, string orElse, List<string> errors)
    {
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var starts) && starts <= 10_000)
        {
            return options with { MaxConcurrentStarts = starts };
        }

        errors.Add($"{where}: give a whole number from 0 (no limit) to 10000, e.g. 4{orElse}.");
        return options;
    }

    /// <summary>The options with the monitor mode <paramref name="text"/> names; unchanged, with an error naming where it came from, when it names none.</summary>
    private static NodeOptions WithContainerMonitor(NodeOptions options, string text, string where, string orElse, List<string> errors)
    {
        switch (text)
        {
            case "shared":
                return options with { SharedContainerMonitor = true };
            case "per-container":
                return options with { SharedContainerMonitor = false };
            default:
                errors.Add($"{where}: use shared (one monitor process for all containers) or per-container (one each){orElse}.");
                return options;
        }
    }

    /// <summary>Checks what can only be checked on the machine: the directories can be made and written.</summary>
    public static IReadOnlyList<string> CheckEnvironment(NodeOptions options)
    {
        var errors = new List<string>();
        try
        {
            Directory.CreateDirectory(options.StateDir);
            var probe = Path.Combine(options.StateDir, $".probe-{Environment.ProcessId}");
            File.WriteAllText(probe, string.Empty);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            errors.Add($"--state {options.StateDir}: cannot write there ({e.Message}); run as root or pick a writable directory.");
        }

        var socketDir = Path.GetDirectoryName(options.ControlSocket)!;
        try
        {
            Directory.CreateDirectory(socketDir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            errors.Add($"--control-socket {options.ControlSocket}: cannot create {socketDir} ({e.Message}).");
        }

        if (System.Text.Encoding.UTF8.GetByteCount(options.ControlSocket) > 107)
        {
            errors.Add($"--control-socket {options.ControlSocket}: a Unix socket path must be shorter than 108 bytes; pick a shorter path.");
        }

        return errors;
    }

    public static bool TryParseEndpoint(string text, int defaultPort, out IPEndPoint endpoint)
    {
        endpoint = null!;
        // A bare address takes the default port. An IPv6 address has colons of its own, so only
        // brackets mark one with a port ("[fd00::1]:2377"), as in docker.
        if (!text.StartsWith('[') && TryParseAddress(text, out var bare) &&
            (bare.AddressFamily == AddressFamily.InterNetworkV6 || !text.Contains(':', StringComparison.Ordinal)))
        {
            endpoint = new IPEndPoint(bare, defaultPort);
            return true;
        }

        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            return false;
        }

        var host = text[..colon].Trim('[', ']');
        if (!TryParseAddress(host, out var address))
        {
            return false;
        }

        endpoint = new IPEndPoint(address, port);
        return true;
    }

    /// <summary>
    /// An IP address written out in full. IPAddress.TryParse also takes the old short IPv4 forms
    /// ("10.0.0" is 10.0.0.0, "10" is 0.0.0.10), which are always a typo here.
    /// </summary>
    public static bool TryParseAddress(string text, out IPAddress address)
    {
        if (!IPAddress.TryParse(text, out address!))
        {
            return false;
        }

        return address.AddressFamily != AddressFamily.InterNetwork || text.Count(c => c == '.') == 3;
    }

    private static (string Flag, string? Inline) SplitFlag(string arg)
    {
        var eq = arg.IndexOf('=', StringComparison.Ordinal);
        return arg.StartsWith("--", StringComparison.Ordinal) && eq > 0 ? (arg[..eq], arg[(eq + 1)..]) : (arg, null);
    }

    private static bool IsValidHostname(string name) =>
        name.Length is > 0 and <= 253 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}
