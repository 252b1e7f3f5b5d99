using System.CommandLine;
using ProtoSwarm.Cli.Terminal;
using ProtoSwarm.Client;
using ProtoSwarm.Client.Control;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Commands;

/// <summary>
/// `protoswarm exec [OPTIONS] TASK COMMAND [ARG...]`: docker exec in a task's container, answered by the
/// node that runs the task (the CLI talks to that node's control socket). The command's stdout and stderr
/// stream over that connection as they are written (and stdin with -i, a terminal with -t); only a
/// connection that cannot stream gets them at the end. The command's exit code is this command's. -d
/// starts it and returns.
/// </summary>
internal static class ExecCommand
{
    /// <summary>How much longer than --timeout the CLI waits for the node's answer: init's kill and the output's drain.</summary>
    private static readonly TimeSpan AnswerSlack = TimeSpan.FromSeconds(30);

    private static readonly HashSet<string> ValuedFlags = new(StringComparer.Ordinal)
    {
        "-e", "--env", "-u", "--user", "-w", "--workdir", "--timeout", "--detach-keys", "-H", "--host",
    };

    public static Command Create(CliApp app)
    {
        var env = new Option<string[]>("--env", "-e") { Description = "Set environment variables (KEY=VALUE; KEY alone takes this shell's value)", AllowMultipleArgumentsPerToken = false }
            .CheckedBy(e => e.Length == 0 || e[0] == '=' ? $"--env '{e}' has no name; write --env KEY=VALUE." : null);
        var user = new Option<string?>("--user", "-u") { Description = "Username or UID (format: \"<name|uid>[:<group|gid>]\"); the container's user when left out" };
        var workdir = new Option<string?>("--workdir", "-w") { Description = "Working directory inside the container; the container's when left out" }
            .CheckedBy(w => w.StartsWith('/') ? null : $"--workdir '{w}' must be an absolute path in the container, e.g. /tmp.");
        var timeout = new Option<string?>("--timeout") { Description = "Kill the command and what it started after this long (ns|us|ms|s|m|h); no limit when left out" }
            .CheckedBy(t => ArgumentRules.Duration("--timeout", t) is { Error: { } error } ? error
                : ArgumentRules.Duration("--timeout", t).Value <= TimeSpan.Zero ? $"--timeout '{t}' must be longer than zero." : null);
        var interactive = new Option<bool>("--interactive", "-i") { Description = "Keep STDIN open: this command's stdin is the command's" };
        var tty = new Option<bool>("--tty", "-t") { Description = "Allocate a pseudo-TTY (with -i, this terminal is put in raw mode while it runs)" };
        var detach = new Option<bool>("--detach", "-d") { Description = "Detached mode: run the command in the background; its output is dropped" };
        var detachKeys = DetachKeysOption("exec");
        var privileged = new Option<bool>("--privileged") { Description = "Give extended privileges to the command (never: exec is confined as the container)" };
        var task = new Argument<string>("TASK") { Description = "The task: its id or a unique prefix of it, among the tasks this node runs" }
            .CheckedBy(t => t.Length == 0 ? "TASK is empty; give a task id or a unique prefix of one (`protoswarm service ps`)." : null);
        var commandLine = new Argument<string[]>("COMMAND [ARG...]")
        {
            Description = "The command to run in the container and its arguments (everything after TASK)",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var command = new Command("exec", "Execute a command in a running task's container on this node")
            .With(env, user, workdir, timeout, interactive, tty, detach, detachKeys, privileged, task, commandLine);
        command.Validators.Add(result =>
        {
            if (result.GetValue(task) is { Length: > 0 } && result.GetValue(commandLine) is not { Length: > 0 })
            {
                result.AddError("exec needs a command after TASK: protoswarm exec TASK COMMAND [ARG...].");
            }

            if (result.GetValue(detach) && result.GetValue(interactive))
            {
                result.AddError("exec --detach and --interactive exclude each other: a detached command has no stdin to keep open; drop one of them.");
            }

            if (result.GetValue(privileged))
            {
                result.AddError("exec --privileged is not available: an exec'd process is confined as the container's entrypoint, never more; give the service the capabilities it needs (--cap-add).");
            }
        });
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var limit = parse.GetValue(timeout) is { } t ? ArgumentRules.Duration("--timeout", t).Value : (TimeSpan?)null;
            var request = new ExecInTask(
                SwarmIds.NewRequestId(),
                parse.GetRequiredValue(task),
                [.. parse.GetRequiredValue(commandLine)],
                [.. (parse.GetValue(env) ?? []).SelectMany(FromShell)],
                parse.GetValue(user),
                parse.GetValue(workdir),
                limit,
                Interactive: parse.GetValue(interactive),
                Tty: parse.GetValue(tty),
                Detach: parse.GetValue(detach),
                StreamOutput: cli.Node.CanStream);
            if (request.Detach)
            {
                await cli.RequestAsync<ExecStarted>(request, Timeouts.Change, ct);
                return 0;
            }

            if (request.Streams)
            {
                return await StreamAsync(app.ExecConsole, cli, request, parse.GetValue(timeout), DetachKeys.Parse(parse.GetValue(detachKeys)).Keys, ct);
            }

            var done = await cli.RequestAsync<ExecCompleted>(request, limit is { } l ? l + AnswerSlack : Timeout.InfiniteTimeSpan, ct);
            await cli.Out.WriteAsync(done.Stdout);
            await cli.Out.FlushAsync(ct);
            await cli.Error.WriteAsync(done.Stderr);
            if (done.TimedOut)
            {
                await cli.Error.WriteLineAsync(TimedOut(parse.GetValue(timeout)));
            }

            return done.ExitCode;
        });
        return command;
    }

    private static string TimedOut(string? timeout) =>
        $"Error: the command ran longer than --timeout {timeout} and was killed, with what it started.";

    /// <summary>
    /// docker's --detach-keys of <paramref name="command"/> (exec, run, start), checked as docker's daemon checks it: comma-separated
    /// `ctrl-X` keys (X one of a-z @ [ \ ] ^ _), single characters, or DEL; Ctrl-P Ctrl-Q when left out.
    /// </summary>
    internal static Option<string?> DetachKeysOption(string command) =>
        new Option<string?>("--detach-keys")
        {
            Description = "Override the key sequence for detaching a terminal session (ctrl-<value>, comma-separated; default ctrl-p,ctrl-q)",
        }.CheckedBy(k => DetachKeys.Parse(k).Error is { } error
            ? $"Invalid {(command == "exec" ? "escape" : "detach")} keys ({k}) provided: {error}; give ctrl-<value> keys (a-z @ [ \\ ] ^ _) or single characters, comma-separated, e.g. ctrl-p,ctrl-q."
            : null);

    /// <summary>
    /// exec -i / -t: the node streams. With -i and -t this terminal goes raw (^C then reaches the command
    /// through its terminal, not this process) until the end, whatever the end; window changes follow, and the detach keys
    /// (<paramref name="detachKeys"/>, docker's Ctrl-P Ctrl-Q by default) detach: the command goes on, as docker's, and this
    /// command exits 0. Cancelling (^C without -t) closes the connection, and the node kills the command.
    /// </summary>
    private static async Task<int> StreamAsync(ExecConsole console, CliContext cli, ExecInTask request, string? timeout, System.Collections.Immutable.ImmutableArray<byte> detachKeys,
        CancellationToken ct)
    {
        var inputIsTerminal = console.InputIsTerminal();
        if (request.Tty && request.Interactive && !inputIsTerminal)
        {
            // docker's words, so scripts that look for them keep working.
            await cli.Error.WriteLineAsync("the input device is not a TTY");
            return 1;
        }

        var size = request.Tty ? ExecConsole.Size() : null;
        request = request with { Rows = size?.Rows ?? 0, Columns = size?.Columns ?? 0 };
        var (_, connection) = await cli.Node.OpenStreamAsync<ExecStarted>(request, Timeouts.Change, ct);
        await using (connection)
        {
            using var client = new ExecStreamClient(connection);
            using var raw = request.Tty && request.Interactive ? RawMode.Enter(0) : null;
            using var resized = request.Tty ? ExecConsole.FollowSize(client) : null;
            var keys = request.Tty && request.Interactive ? new DetachKeys(console.Input(), detachKeys) : null;
            var input = !request.Interactive ? null : keys is null ? client.SendInputAsync(console.Input()) : client.SendInputAsync(keys, () => keys.Detached);

            try
            {
                await using var stdout = console.Output();
                await using var stderr = console.Error();
                var output = client.ReceiveOutputAsync(stdout, stderr, ct);
                if (keys is not null && await Task.WhenAny(output, input!) == input && keys.Detached)
                {
                    // The Detach frame went before the input's task ended: the node lets the command go on without us.
                    raw?.Dispose();
                    return 0;
                }

                var (exitCode, timedOut) = await output;
                raw?.Dispose();
                if (timedOut)
                {
                    await cli.Error.WriteLineAsync(TimedOut(timeout));
                }

                return exitCode;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                raw?.Dispose();
                await cli.Error.WriteLineAsync("Cancelled: the connection is closed, and the node kills the command with what it started.");
                return 130;
            }
            catch (Exception e) when (e is IOException or InvalidDataException)
            {
                raw?.Dispose();
                throw new SwarmCommandException(RejectCode.Unavailable,
                    $"the exec stream from {cli.Node.Address} broke ({e.Message}); the node kills the command when its connection ends. See protoswarmd's log.");
            }
        }
    }

    /// <summary>
    /// Everything after TASK belongs to the command, also what looks like a flag (`exec web sh -c 'ls -l'`):
    /// a `--` goes in after TASK unless one is there. False when the command line is not an exec.
    /// </summary>
    public static bool TrySeparateCommand(IReadOnlyList<string> args, out IReadOnlyList<string> separated)
    {
        separated = args;
        var at = ArgumentRules.AfterHost(args);

        if (at >= args.Count || args[at] != "exec")
        {
            return false;
        }

        separated = ArgumentRules.SeparateAfterFirstOperand(args, at + 1, ValuedFlags, unlessSeparated: true);
        return true;
    }

    /// <summary>docker's `-e KEY`: the variable as this shell has it, or nothing when it is unset.</summary>
    internal static IEnumerable<string> FromShell(string entry) =>
        entry.Contains('=', StringComparison.Ordinal) ? [entry]
        : Environment.GetEnvironmentVariable(entry) is { } value ? [$"{entry}={value}"]
        : [];
}
