using System.CommandLine;
using System.CommandLine.Parsing;
using ProtoSwarm.Cli.Commands;
using ProtoSwarm.Cli.Control;
using ProtoSwarm.Cli.Terminal;
using ProtoSwarm.Client;

namespace ProtoSwarm.Cli;

/// <summary>
/// Builds the `protoswarm` command tree and runs each command's body with one policy: the node's
/// refusals print "Error: reason" on stderr and exit 1, never a stack trace.
/// </summary>
internal sealed class CliApp(Func<string, INodeConnection> connect)
{
    public Option<string?> Host { get; } = new Option<string?>("--host", "-H")
    {
        Description = "The node's control socket, unix:///path (default: $PROTOSWARM_CONTROL_SOCKET, else unix:///var/lib/protoswarm/control.sock), or a manager, tcp://IP:PORT, with the client certificate in $PROTOSWARM_CERT_PATH (default ~/.protoswarm)",
        Recursive = true,
    }.CheckedBy(v => ArgumentRules.Host(v).Error);

    /// <summary>How `service create/update/rollback/scale` poll while they wait; tests shorten it.</summary>
    public ServiceWaitTiming WaitTiming { get; init; } = ServiceWaitTiming.Default;

    /// <summary>How often `service logs --follow` asks for newer lines (docker streams; we poll); tests shorten it.</summary>
    public TimeSpan LogPollInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How often `swarm ca --rotate` asks how far the rotation got; tests shorten it.</summary>
    public TimeSpan CaRotationPollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long `stack rm` retries a network its removed services' tasks still hold addresses on.</summary>
    public TimeSpan NetworkReleaseTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long `stack rm --detach=false` waits for the removed services' tasks beyond the longest stop grace
    /// period among them (the node's stop and its report take a moment more); tests shorten it.
    /// </summary>
    public TimeSpan TaskStopAllowance { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How often `stats` reads the node's counters (docker's: every second); tests make it short.</summary>
    public TimeSpan StatsInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Where `secret create NAME -`, `config create NAME -` and `image load` read the content; tests give their own.</summary>
    public Func<Stream> StandardInput { get; init; } = Console.OpenStandardInput;

    /// <summary>What `exec -i` / `-t` reads and writes as bytes; tests give their own streams.</summary>
    public ExecConsole ExecConsole { get; init; } = ExecConsole.Process;

    public RootCommand CreateRoot()
    {
        var root = new RootCommand("protoswarm: a container orchestrator in the spirit of Docker Swarm mode");
        root.Options.Add(Host);
        root.Subcommands.Add(SwarmCommands.Create(this));
        root.Subcommands.Add(NodeCommands.Create(this));
        root.Subcommands.Add(ImageCommands.Create(this));
        root.Subcommands.Add(VolumeCommands.Create(this));
        root.Subcommands.Add(NetworkCommands.Create(this));
        root.Subcommands.Add(SecretCommands.Create(this));
        root.Subcommands.Add(ConfigCommands.Create(this));
        root.Subcommands.Add(RegistryCommands.Create(this));
        root.Subcommands.Add(ServiceCommands.Create(this));
        root.Subcommands.Add(StackCommands.Create(this));
        root.Subcommands.Add(ExecCommand.Create(this));
        root.Subcommands.Add(ContainerCommands.Ps(this));
        root.Subcommands.Add(RunCommand.Run(this));
        root.Subcommands.Add(RunCommand.CreateOnly(this));
        root.Subcommands.Add(RunCommand.Start(this));
        root.Subcommands.Add(RunCommand.Stop(this));
        root.Subcommands.Add(RunCommand.Restart(this));
        root.Subcommands.Add(RunCommand.Kill(this));
        root.Subcommands.Add(RunCommand.Remove(this, "rm"));
        root.Subcommands.Add(RunCommand.Logs(this));
        root.Subcommands.Add(RunCommand.Wait(this));
        root.Subcommands.Add(ContainerCommands.Container(this));
        root.Subcommands.Add(ContainerCommands.TopStats(this));
        root.Subcommands.Add(ContainerCommands.Port(this));
        root.Subcommands.Add(CaCommands.Create(this));
        root.Subcommands.Add(SystemCommands.System(this));
        root.Subcommands.Add(SystemCommands.Info(this));
        root.Subcommands.Add(SystemCommands.Version(this));
        root.Subcommands.Add(EventsCommand.Create(this));
        return root;
    }

    /// <summary>
    /// Parses and runs a command line. A refused flag, or a subcommand a group does not have, prints its
    /// sentence and docker's "See '... --help'" hint instead of the whole help text; anything unexpected
    /// ends as one line.
    /// </summary>
    public static async Task<int> RunAsync(RootCommand root, IReadOnlyList<string> args, InvocationConfiguration configuration, CancellationToken ct = default)
    {
        try
        {
            var separated = ExecCommand.TrySeparateCommand(args, out var exec) ? exec : ServiceCommands.SeparateContainerCommand(RunCommand.SeparateCommand(args));
            var parseResult = root.Parse(separated);
            if (StrayWord(parseResult) is { } stray)
            {
                await configuration.Error.WriteLineAsync($"unknown command \"{stray.Word}\" for \"{stray.Group}\"");
                await configuration.Error.WriteLineAsync($"See '{stray.Group} --help'.");
                return 1;
            }

            if (Refusal(parseResult, separated) is { } refusal)
            {
                await configuration.Error.WriteLineAsync(refusal);
                await configuration.Error.WriteLineAsync($"See '{CommandPath(parseResult.CommandResult)} --help'.");
                return RefusalExitCode(parseResult, refusal);
            }

            if (parseResult.Errors.Count > 0 && parseResult.CommandResult.Command.Action is not null)
            {
                foreach (var error in parseResult.Errors)
                {
                    await configuration.Error.WriteLineAsync(error.Message);
                }

                await configuration.Error.WriteLineAsync($"See '{CommandPath(parseResult.CommandResult)} --help'.");
                return RefusalExitCode(parseResult, null);
            }

            return await parseResult.InvokeAsync(configuration, ct);
        }
        catch (Exception e)
        {
            await configuration.Error.WriteLineAsync($"Error: {e.Message}");
            return 1;
        }
    }

    /// <summary>
    /// The exit code of a command line refused before it runs: docker's run and create exit 125 for a refused flag, their flag
    /// parser's and their own checks of the values alike (docker/cli's FlagErrorFunc and runRun/runCreate), so a script tells
    /// the CLI's refusal from the container's own exit; a missing IMAGE is 1 there (cobra's argument count, a plain error), as
    /// is every refusal of the other commands here.
    /// </summary>
    internal static int RefusalExitCode(ParseResult parseResult, string? refusal)
    {
        var command = parseResult.CommandResult;
        var runOrCreate = command.Command.Name is "run" or "create"
            && command.Parent is CommandResult { Command: RootCommand or { Name: "container" } };
        var argumentCount = WrongArgumentCount(parseResult);
        return runOrCreate && (argumentCount is null || (refusal is not null && refusal != argumentCount)) ? 125 : 1;
    }

    /// <summary>Sets a command's action: connects to the node named by --host and runs the body.</summary>
    public void SetAction(Command command, Func<ParseResult, CliContext, CancellationToken, Task<int>> body) =>
        command.SetAction(async (parseResult, ct) =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            try
            {
                var node = connect(CliContext.Target(parseResult.GetValue(Host)));
                return await body(parseResult, new CliContext(node, output, error), ct);
            }
            catch (SwarmCommandException e)
            {
                await error.WriteLineAsync($"Error: {e.Message}");
                return 1;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                await error.WriteLineAsync("Cancelled; the node may still finish what was asked.");
                return 130;
            }
            catch (Exception e)
            {
                await error.WriteLineAsync($"Error: unexpected {e.GetType().Name}: {e.Message}");
                return 1;
            }
        });

    /// <summary>
    /// The one sentence a command line is refused with before it runs, in docker's words, or null: for a
    /// group, the subcommand it does not have; for a command, first an unknown flag taken as an argument
    /// (which also leaves the real argument unmatched), then a switch given a value it cannot take, then
    /// whatever the parser left over. Other parser errors are printed as the parser says them.
    /// </summary>
    private static string? Refusal(ParseResult parseResult, IReadOnlyList<string> separated)
    {
        if (parseResult.CommandResult.Command.Action is null)
        {
            return UnknownCommand(parseResult);
        }

        if (UnknownFlag(parseResult) is { } unknown)
        {
            return $"unknown flag: {unknown}";
        }

        return InvalidSwitchValue(parseResult, separated) ?? (parseResult.Errors.Count > 0 ? Unmatched(parseResult) ?? WrongArgumentCount(parseResult) : null);
    }

    /// <summary>
    /// A word the parser skipped on its way to a subcommand further on: `protoswarm bogus info` (or `node
    /// x ls`) ran `info` and blamed it for the word ("\"protoswarm info\" accepts no arguments"), naming a command
    /// the user did not give. docker's cobra stops at the first word a group does not know; so does this: the
    /// word, and the group it stood in. Null when every word before the command's own was a command or a value.
    /// </summary>
    internal static (string Word, string Group)? StrayWord(ParseResult parseResult)
    {
        var command = parseResult.CommandResult;
        var tokens = parseResult.Tokens;
        var at = IndexOf(tokens, command.IdentifierToken);
        if (at <= 0)
        {
            return null;
        }

        var consumed = new HashSet<Token>(ReferenceEqualityComparer.Instance);
        for (SymbolResult? group = command.Parent; group is CommandResult result; group = group.Parent)
        {
            foreach (var child in result.Children)
            {
                consumed.UnionWith(child switch
                {
                    OptionResult option => option.Tokens,
                    ArgumentResult argument => argument.Tokens,
                    _ => [],
                });
            }
        }

        for (var i = 0; i < at; i++)
        {
            if (tokens[i].Type != TokenType.Argument || consumed.Contains(tokens[i]))
            {
                continue;
            }

            // The group the word stood in: the last command named before it (the root when none was).
            CommandResult? group = null;
            var groupAt = -1;
            for (SymbolResult? g = command.Parent; g is CommandResult candidate; g = g.Parent)
            {
                var index = IndexOf(tokens, candidate.IdentifierToken);
                if (index < i && index > groupAt)
                {
                    (group, groupAt) = (candidate, index);
                }
            }

            return (tokens[i].Value, group is null ? "protoswarm" : CommandPath(group));
        }

        return null;
    }

    private static int IndexOf(IReadOnlyList<Token> tokens, Token token)
    {
        for (var i = 0; i < tokens.Count; i++)
        {
            if (ReferenceEquals(tokens[i], token))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>
    /// Too few or too many words for a command's arguments, as docker's cobra says it once
    /// (<c>"protoswarm secret create" requires exactly 2 arguments.</c>), where the parser would print one
    /// "Required argument missing" per missing argument or call an extra word unrecognised. Null when the
    /// count is within the command's arity.
    /// </summary>
    internal static string? WrongArgumentCount(ParseResult parseResult)
    {
        var command = parseResult.CommandResult;
        if (command.Command.Arguments.Count == 0)
        {
            return null;
        }

        var given = command.Children.OfType<ArgumentResult>().Sum(a => a.Tokens.Count)
            + parseResult.UnmatchedTokens.Count(t => !LooksLikeFlag(t));
        var min = command.Command.Arguments.Sum(a => a.Arity.MinimumNumberOfValues);
        var maxima = command.Command.Arguments.Select(a => a.Arity.MaximumNumberOfValues).ToList();
        var max = maxima.Any(m => m >= 100_000) ? int.MaxValue : maxima.Sum();
        if (given >= min && given <= max)
        {
            return null;
        }

        string Count(int n) => n == 1 ? "1 argument" : $"{n} arguments";
        var path = CommandPath(command);
        return (min, max) switch
        {
            _ when min == max => $"\"{path}\" requires exactly {Count(min)}.",
            (_, int.MaxValue) => $"\"{path}\" requires at least {Count(min)}.",
            (0, _) => $"\"{path}\" requires at most {Count(max)}.",
            _ => $"\"{path}\" requires at least {min} and at most {Count(max)}.",
        };
    }

    /// <summary>A word that reads as a flag: a dash and more, but not a negative number.</summary>
    private static bool LooksLikeFlag(string word) =>
        word.Length > 1 && word[0] == '-'
        && !double.TryParse(word, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out _);

    /// <summary>
    /// The word a command group (`image`, `service`, the root itself) has no subcommand for: `image tag`,
    /// which docs/cli.md lists as not yet there, says <c>unknown command "tag" for "protoswarm image"</c>
    /// as docker's own CLI does, where System.CommandLine would print three errors and the whole help.
    /// A flag the group does not know is named as one. Null when nothing was left unmatched (a group
    /// given no subcommand keeps System.CommandLine's help).
    /// </summary>
    internal static string? UnknownCommand(ParseResult parseResult)
    {
        if (parseResult.UnmatchedTokens.Count == 0)
        {
            return null;
        }

        var first = parseResult.UnmatchedTokens[0];
        return first.Length > 1 && first[0] == '-'
            ? $"unknown flag: {first}"
            : $"unknown command \"{first}\" for \"{CommandPath(parseResult.CommandResult)}\"";
    }

    /// <summary>
    /// A flag the command does not know, which the parser took as one of its arguments (`network create
    /// --ipv6` became a network named "--ipv6"): the first argument value that starts with a dash, is
    /// not a number, and does not come after `--`. docker says "unknown flag" for it; no name this CLI
    /// takes (network, node, service, task, image, secret) starts with a dash, and a dash alone (stdin)
    /// is a value.
    /// </summary>
    internal static string? UnknownFlag(ParseResult parseResult)
    {
        var argumentTokens = parseResult.CommandResult.Children.OfType<ArgumentResult>().SelectMany(a => a.Tokens).ToHashSet();
        foreach (var token in parseResult.Tokens)
        {
            if (token.Type == TokenType.DoubleDash)
            {
                return null;
            }

            if (token.Type == TokenType.Argument && argumentTokens.Contains(token) && LooksLikeFlag(token.Value))
            {
                return token.Value;
            }
        }

        return null;
    }

    /// <summary>
    /// What a command left over says in docker's words: a flag it does not know (`node ls --bogus`: the
    /// parser's "Unrecognized command or argument" otherwise), or words given to a command that takes
    /// none (`"protoswarm info" accepts no arguments`). Null when nothing was left over.
    /// </summary>
    internal static string? Unmatched(ParseResult parseResult)
    {
        if (parseResult.UnmatchedTokens.Count == 0)
        {
            return null;
        }

        var flag = parseResult.UnmatchedTokens.FirstOrDefault(LooksLikeFlag);
        if (flag is not null)
        {
            return $"unknown flag: {(flag.StartsWith("--", StringComparison.Ordinal) ? flag.Split('=', 2)[0] : flag)}";
        }

        return parseResult.CommandResult.Command.Arguments.Count == 0
            ? $"\"{CommandPath(parseResult.CommandResult)}\" accepts no arguments."
            : null;
    }

    /// <summary>
    /// A true/false flag given another value as <c>--flag=value</c> (`swarm update --autolock=maybe`): the
    /// parser leaves the value over and would call it an unrecognised argument; docker names the flag and
    /// the value. Only the <c>=</c> form: a switch never takes the next word as its value.
    /// </summary>
    internal static string? InvalidSwitchValue(ParseResult parseResult, IReadOnlyList<string> args)
    {
        var switches = new Dictionary<string, Option>(StringComparer.Ordinal);
        for (SymbolResult? at = parseResult.CommandResult; at is CommandResult result; at = at.Parent)
        {
            foreach (var option in result.Command.Options.Where(o => o.ValueType == typeof(bool) || o.ValueType == typeof(bool?)))
            {
                foreach (var name in option.Aliases.Prepend(option.Name))
                {
                    switches.TryAdd(name, option);
                }
            }
        }

        foreach (var arg in args)
        {
            if (arg == "--")
            {
                return null;
            }

            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith('-') && equals > 1 && switches.TryGetValue(arg[..equals], out var option) && !bool.TryParse(arg[(equals + 1)..], out _))
            {
                return $"invalid argument \"{arg[(equals + 1)..]}\" for \"{option.Name}\" flag: give true or false, e.g. {option.Name}=true";
            }
        }

        return null;
    }

    private static string CommandPath(CommandResult command)
    {
        var names = new List<string>();
        for (SymbolResult? at = command; at is CommandResult result; at = at.Parent)
        {
            names.Add(result.Parent is null ? "protoswarm" : result.Command.Name);
        }

        names.Reverse();
        return string.Join(' ', names);
    }
}
