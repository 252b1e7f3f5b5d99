using System.CommandLine;
using System.CommandLine.Parsing;
using ProtoSwarm.Cli.Terminal;
using ProtoSwarm.Client;
using ProtoSwarm.Client.Control;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Commands;

/// <summary>
/// docker's standalone containers on the node the CLI talks to: `run` (and `container run`), `container create`,
/// `container start|stop|restart|kill|rm|logs|wait` (also at the top, as docker's `start`, `stop`, `restart`, `kill`, `rm`, `logs`,
/// `wait`, `create`).
/// The node runs them with the executor that runs its tasks; `ps` and `container ls|inspect` show them beside the
/// tasks' containers.
/// </summary>
internal static class RunCommand
{
    /// <summary>The flags of run and create that take a value (the word after one is not the image).</summary>
    private static readonly HashSet<string> ValuedFlags = new(StringComparer.Ordinal)
    {
        "--name", "-e", "--env", "-w", "--workdir", "-u", "--user", "--entrypoint", "--network", "--net", "-H", "--host", "--restart",
        "-v", "--volume", "--mount", "-p", "--publish", "--cpus", "-m", "--memory", "--memory-reservation", "-l", "--label", "--label-file",
        "--env-file", "--hostname", "--cap-add", "--cap-drop", "--stop-signal", "--stop-timeout", "--health-cmd", "--health-interval", "--health-retries",
        "--health-timeout", "--health-start-period", "--health-start-interval", "--add-host", "--dns", "--dns-option", "--dns-search", "--sysctl", "--ulimit",
        "--pids-limit", "--group-add", "--tmpfs", "--log-driver", "--log-opt", "--expose", "--shm-size", "--detach-keys",
    };

    public static Command Run(CliApp app) => Create(app, "run", "Create and run a new container from an image on this node", start: true);

    public static Command CreateOnly(CliApp app) => Create(app, "create", "Create a new container on this node (start it with `container start`)", start: false);

    private static Command Create(CliApp app, string name, string description, bool start)
    {
        var detach = new Option<bool>("--detach", "-d") { Description = "Run container in background and print container ID" };
        var remove = new Option<bool>("--rm") { Description = "Automatically remove the container and its network attachment when it exits" };
        var containerName = new Option<string?>("--name") { Description = "Assign a name to the container" };
        var env = new Option<string[]>("--env", "-e") { Description = "Set environment variables (KEY=VALUE; KEY alone takes this shell's value)", AllowMultipleArgumentsPerToken = false }
            .CheckedBy(e => e.Length == 0 || e[0] == '=' ? $"invalid argument \"{e}\" for \"-e, --env\" flag: variable name is empty; write --env KEY=VALUE." : null);
        var workdir = new Option<string?>("--workdir", "-w") { Description = "Working directory inside the container" }
            .CheckedBy(w => w.StartsWith('/') ? null : $"the working directory '{w}' is invalid, it needs to be an absolute path");
        var user = new Option<string?>("--user", "-u") { Description = "Username or UID (format: <name|uid>[:<group|gid>])" };
        var entrypoint = new Option<string?>("--entrypoint") { Description = "Overwrite the default ENTRYPOINT of the image (one word; \"\" clears it)" };
        var network = new Option<string?>("--network")
        {
            Description = "Connect a container to a network: an attachable overlay of the swarm, host (the node's own network namespace), none (loopback alone); the node's bridge when left out",
        };
        network.Aliases.Add("--net");
        var interactive = new Option<bool>("--interactive", "-i") { Description = "Keep STDIN open even if not attached: attached, this command's stdin is the container's (with -t, typed on its terminal)" };
        var tty = new Option<bool>("--tty", "-t") { Description = "Allocate a pseudo-TTY (with -i, this terminal is put in raw mode while attached; ^P ^Q detaches)" };
        var restart = new Option<string?>("--restart") { Description = "Restart policy to apply when a container exits (no, on-failure[:max-retries], always, unless-stopped)" }
            .CheckedBy(r => ContainerRestartPolicy.Parse(r).Error);
        var volume = new Option<string[]>("--volume", "-v") { Description = "Bind mount a volume ([SOURCE:]TARGET[:ro]: a host path, a volume's name, or none for an anonymous volume)", AllowMultipleArgumentsPerToken = false }
            .CheckedBy(v => VolumeFlag.Parse(VolumeFlag.WithAbsoluteSource(v, Path.GetFullPath)).Error);
        var mount = new Option<string[]>("--mount") { Description = "Attach a filesystem mount to the container (type=bind|volume|tmpfs,source=,target=,readonly)", AllowMultipleArgumentsPerToken = false }
            .CheckedBy(m => ServiceFlags.Mount("--mount", m).Error);
        var publish = new Option<string[]>("--publish", "-p") { Description = "Publish a container's port to the node ([0.0.0.0:][HOST:]CONTAINER[/tcp|udp])", AllowMultipleArgumentsPerToken = false }
            .CheckedBy(p => PublishFlag.Parse(p).Error);
        var publishAll = new Option<bool>("--publish-all", "-P") { Description = "Publish all exposed ports to free ports of the node" };
        var cpus = new Option<string?>("--cpus") { Description = "Number of CPUs (e.g. 0.5)" }.CheckedBy(c => ServiceFlags.Cpu("--cpus", c).Error);
        var memory = new Option<string?>("--memory", "-m") { Description = "Memory limit (a number and a unit: b, k, m, g, e.g. 512m)" }
            .CheckedBy(m => ServiceFlags.Memory("--memory", m).Error);
        var memoryReservation = new Option<string?>("--memory-reservation") { Description = "Memory soft limit (a number and a unit: b, k, m, g)" }
            .CheckedBy(m => ServiceFlags.Memory("--memory-reservation", m).Error);
        var label = new Option<string[]>("--label", "-l") { Description = "Set meta data on a container (key=value)", AllowMultipleArgumentsPerToken = false }
            .CheckedBy(l => ServiceFlags.Label("--label", l).Error);
        var labelFile = new Option<string[]>("--label-file") { Description = "Read in a line delimited file of labels", AllowMultipleArgumentsPerToken = false }
            .CheckedBy(f => ServiceFlags.LabelFile("--label-file", f).Error);
        var envFile = new Option<string[]>("--env-file") { Description = "Read in a file of environment variables", AllowMultipleArgumentsPerToken = false }
            .CheckedBy(f => ServiceFlags.EnvFile("--env-file", f).Error);
        var hostname = new Option<string?>("--hostname") { Description = "Container host name" }.CheckedBy(h => ServiceFlags.Hostname("--hostname", h));
        var confinement = ConfinementOptions();
        var image = new Argument<string>("IMAGE") { Description = "The image to run (the node's own, or the swarm registry's)" };
        var commandLine = new Argument<string[]>("COMMAND [ARG...]")
        {
            Description = "The command to run and its arguments (everything after IMAGE); the image's when left out",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var detachKeys = ExecCommand.DetachKeysOption(name);
        var command = new Command(name, description).With(detach, detachKeys, remove, containerName, env, workdir, user, entrypoint, network, interactive, tty, restart, volume, mount,
            publish, publishAll, cpus, memory, memoryReservation, label, labelFile, envFile, hostname);
        foreach (var option in confinement)
        {
            command.Options.Add(option);
        }

        command.Arguments.Add(image);
        command.Arguments.Add(commandLine);
        if (!start)
        {
            // docker's create has neither: nothing is attached.
            command.Options.Remove(detach);
            command.Options.Remove(detachKeys);
        }

        command.Validators.Add(result =>
        {
            if (result.GetValue(containerName) is { } n && RunRules.NameError(n) is { } nameError)
            {
                result.AddError(nameError);
            }

            if (result.GetValue(remove) && ContainerRestartPolicy.Parse(result.GetValue(restart)).Policy is { IsNone: false })
            {
                result.AddError("Conflicting options: --restart and --rm");
            }

            if (RunRules.ResourcesError(result.GetValue(memory), result.GetValue(memoryReservation)) is { } resourcesError)
            {
                result.AddError(resourcesError);
            }

            if (result.GetValue(network) == PredefinedNetworks.None && ((result.GetValue(publish)?.Length ?? 0) > 0 || result.GetValue(publishAll)))
            {
                result.AddError(PredefinedNetworks.NonePublishConflict);
            }

            // Their combination is judged once each value passed its own check: one mistake, one message.
            var confinementFlags = FlagsOf(result, confinement);
            if (confinementFlags.Given.All(flag => confinementFlags.All(flag).All(value => Checks.GetValueOrDefault(flag)?.Invoke(value) is null))
                && RunRules.Confined(RunRules.Request("IMAGE", [], null, [], null, null, null, false, false, null, false, false), confinementFlags).Error is { } confinementError)
            {
                result.AddError(confinementError);
            }
        });
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var hostNetwork = parse.GetValue(network) == PredefinedNetworks.Host;
            if (hostNetwork && ((parse.GetValue(publish)?.Length ?? 0) > 0 || parse.GetValue(publishAll)))
            {
                // docker's daemon says so and runs the container: it binds the node's own ports itself.
                await cli.Error.WriteLineAsync(PredefinedNetworks.HostPublishWarning);
            }

            var request = RunRules.Request(
                parse.GetRequiredValue(image),
                parse.GetValue(commandLine) ?? [],
                parse.GetValue(entrypoint),
                // docker's order: the files' variables first, an -e after them wins.
                [.. (parse.GetValue(envFile) ?? []).SelectMany(f => ServiceFlags.EnvFile("--env-file", f).Value), .. (parse.GetValue(env) ?? []).SelectMany(ExecCommand.FromShell)],
                parse.GetValue(workdir),
                parse.GetValue(user),
                parse.GetValue(containerName),
                parse.GetValue(remove),
                parse.GetValue(tty),
                parse.GetValue(network),
                start,
                attach: start && !parse.GetValue(detach),
                interactive: parse.GetValue(interactive)) with
            {
                Restart = parse.GetValue(restart) ?? string.Empty,
                Volumes = [.. (parse.GetValue(volume) ?? []).Select(v => VolumeFlag.WithAbsoluteSource(v, Path.GetFullPath))],
                Mounts = [.. (parse.GetValue(mount) ?? []).Select(m => ServiceFlags.Mount("--mount", m).Value)],
                Publish = hostNetwork ? [] : [.. parse.GetValue(publish) ?? []],
                PublishAll = !hostNetwork && parse.GetValue(publishAll),
                Labels = RunRules.Labels(parse.GetValue(labelFile) ?? [], parse.GetValue(label) ?? []),
                Hostname = parse.GetValue(hostname) ?? string.Empty,
                NanoCpus = parse.GetValue(cpus) is { } c ? ServiceFlags.Cpu("--cpus", c).Value : 0,
                MemoryBytes = parse.GetValue(memory) is { } m ? ServiceFlags.Memory("--memory", m).Value : 0,
                MemoryReservationBytes = parse.GetValue(memoryReservation) is { } r ? ServiceFlags.Memory("--memory-reservation", r).Value : 0,
            };
            request = RunRules.Confined(request, FlagsOf(parse, confinement)).Value;
            if (request.Tty && request.Interactive && request.Attach && !app.ExecConsole.InputIsTerminal())
            {
                // docker's words, so scripts that look for them keep working; nothing is created.
                await cli.Error.WriteLineAsync("the input device is not a TTY");
                return 1;
            }

            try
            {
                if (!request.Attach)
                {
                    var created = await cli.RequestAsync<ContainerCreated>(request, Timeouts.Membership, ct);
                    await cli.Out.WriteLineAsync(created.Id);
                    return 0;
                }

                var (attached, connection) = await cli.Node.OpenStreamAsync<ContainerCreated>(request, Timeouts.Membership, ct);
                return await ReceiveAsync(app, cli, connection, ct, request.Interactive, attached.Tty, DetachKeys.Parse(parse.GetValue(detachKeys)).Keys);
            }
            catch (SwarmCommandException e) when (start && e.Code != RejectCode.Unavailable)
            {
                // docker's run: the daemon's refusal, and an exit code that says whose fault it was.
                await cli.Error.WriteLineAsync($"protoswarm: Error response from daemon: {e.Message}");
                return RunRules.ExitCode(e.Message);
            }
        });
        return command;
    }

    /// <summary>
    /// docker run's confinement, health, resolver, log and port flags: each value checked by the service flag's check of the
    /// same meaning (--add-host is a service's --host, --group-add its --group, --pids-limit its --limit-pids), so a mistake
    /// is refused before anything is sent. <see cref="RunRules.Confined"/> reads them, by these names, from <see cref="FlagsOf"/>.
    /// </summary>
    private static IReadOnlyList<Option> ConfinementOptions() =>
    [
        Many("--cap-add", "Add Linux capabilities", v => ServiceFlags.Capability("--cap-add", v).Error),
        Many("--cap-drop", "Drop Linux capabilities", v => ServiceFlags.Capability("--cap-drop", v).Error),
        new Option<bool>("--read-only") { Description = "Mount the container's root filesystem as read only" },
        new Option<bool>("--init") { Description = "Run an init inside the container that forwards signals and reaps processes" },
        One("--stop-signal", "Signal to stop the container", v => ServiceFlags.StopSignal("--stop-signal", v)),
        One("--stop-timeout", "Timeout (in seconds) to stop a container (default 10)", v => RunRules.StopTimeoutError(v)),
        One("--health-cmd", "Command to run to check health", v => v.Trim().Length == 0 ? "--health-cmd: give the command to run, e.g. --health-cmd 'wget -qO- localhost'." : null),
        One("--health-interval", "Time between running the check (ms|s|m|h) (default 30s)", v => ServiceFlags.Duration("--health-interval", v).Error),
        One("--health-retries", "Consecutive failures needed to report unhealthy (default 3)", v => ServiceFlags.Count("--health-retries", v).Error),
        One("--health-timeout", "Maximum time to allow one check to run (ms|s|m|h) (default 30s)", v => ServiceFlags.Duration("--health-timeout", v).Error),
        One("--health-start-period", "Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)", v => ServiceFlags.Duration("--health-start-period", v).Error),
        One("--health-start-interval", "Time between running the check during the start period (ms|s|m|h) (default 5s)", v => ServiceFlags.Duration("--health-start-interval", v).Error),
        new Option<bool>("--no-healthcheck") { Description = "Disable any container-specified HEALTHCHECK" },
        Many("--add-host", "Add a custom host-to-IP mapping (host:ip)", v => ServiceFlags.HostOf("--add-host", v).Error),
        Many("--dns", "Set custom DNS servers", v => ServiceFlags.Dns("--dns", v, DnsConfigRule.NameserverProblem)),
        Many("--dns-option", "Set DNS options", v => ServiceFlags.Dns("--dns-option", v, DnsConfigRule.OptionProblem)),
        Many("--dns-search", "Set custom DNS search domains", v => ServiceFlags.Dns("--dns-search", v, DnsConfigRule.SearchProblem)),
        Many("--sysctl", "Sysctl options (key=value, namespaced only, e.g. net.core.somaxconn=1024)", v => ServiceFlags.SysctlOf("--sysctl", v).Error),
        Many("--ulimit", "Ulimit options (name=soft[:hard], e.g. nofile=1024:2048)", v => ServiceFlags.UlimitOf("--ulimit", v).Error),
        One("--pids-limit", "Tune container pids limit (set -1 for unlimited)", v => RunRules.PidsLimitError(v)),
        Many("--group-add", "Add additional groups to join", v => ServiceFlags.GroupOf("--group-add", v)),
        Many("--tmpfs", "Mount a tmpfs directory (PATH[:rw|ro,size=SIZE,mode=OCTAL])", v => RunFlags.Tmpfs(v).Error),
        One("--log-driver", "Logging driver for the container (json-file, local or none)", ServiceFlags.LogDriverName),
        Many("--log-opt", "Log driver options (max-size=10m, max-file=3)", v => ServiceFlags.LogOption(v).Error),
        Many("--expose", "Expose a port or a range of ports (what -P publishes beside the image's)", v => RunFlags.Expose(v).Error),
        One("--shm-size", "Size of /dev/shm (a number and a unit: b, k, m, g) (default 64m)", v => ServiceFlags.Memory("--shm-size", v).Error),
    ];

    /// <summary>The check of each value of <see cref="ConfinementOptions"/>, by the option's name.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Func<string, string?>> Checks = new(StringComparer.Ordinal);

    private static Option<string?> One(string name, string description, Func<string, string?> check) =>
        new Option<string?>(name) { Description = description }.CheckedBy(Checks[name] = check);

    private static Option<string[]> Many(string name, string description, Func<string, string?> check) =>
        new Option<string[]>(name) { Description = description, AllowMultipleArgumentsPerToken = false }.CheckedBy(Checks[name] = check);

    /// <summary>The values given for <paramref name="options"/>, by their names, in the form the service flags are read in.</summary>
    private static FlagValues FlagsOf(CommandResult result, IReadOnlyList<Option> options) => FlagsOf(options, result.GetResult);

    private static FlagValues FlagsOf(ParseResult parse, IReadOnlyList<Option> options) => FlagsOf(options, parse.GetResult);

    private static FlagValues FlagsOf(IReadOnlyList<Option> options, Func<Option, OptionResult?> resultOf)
    {
        var flags = new FlagValues();
        foreach (var option in options)
        {
            if (resultOf(option) is not { } given)
            {
                continue;
            }

            switch (option)
            {
                case Option<bool> flag when given.GetValueOrDefault<bool>():
                    flags.Add(flag.Name, "true");
                    break;
                case Option<bool>:
                    break;
                default:
                    foreach (var token in given.Tokens)
                    {
                        flags.Add(option.Name, token.Value);
                    }

                    break;
            }
        }

        return flags;
    }

    /// <summary>Prints what a container stream carries (its output, its stdout and stderr apart) and returns the code of its exit frame;
    /// with <paramref name="interactive"/> (run -i) this command's stdin goes to the container's as exec's does, its end closing that.
    /// A container on a terminal (<paramref name="tty"/>) is attached as `exec -t` is: see <see cref="TerminalAsync"/>.</summary>
    private static async Task<int> ReceiveAsync(CliApp app, CliContext cli, Stream connection, CancellationToken ct, bool interactive = false, bool tty = false,
        System.Collections.Immutable.ImmutableArray<byte> detachKeys = default)
    {
        if (tty)
        {
            return await TerminalAsync(app, cli, connection, interactive, detachKeys.IsDefault ? DetachKeys.Default : detachKeys, ct);
        }

        await using (connection)
        {
            using var client = new ExecStreamClient(connection);
            if (interactive)
            {
                _ = client.SendInputAsync(app.ExecConsole.Input());
            }

            try
            {
                await cli.Out.FlushAsync(ct);
                await using var stdout = app.ExecConsole.Output();
                await using var stderr = app.ExecConsole.Error();
                var (exitCode, _) = await client.ReceiveOutputAsync(stdout, stderr, ct);
                return exitCode;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return 130;
            }
            catch (Exception e) when (e is IOException or InvalidDataException)
            {
                throw new SwarmCommandException(RejectCode.Unavailable,
                    $"the container's output stream from {cli.Node.Address} broke ({e.Message}); the container goes on (`protoswarm container logs` shows it). See protoswarmd's log.");
            }
        }
    }

    /// <summary>
    /// An attached container's terminal, as `exec -t` attaches one (the same raw mode, sizes and relay): with
    /// <paramref name="interactive"/> this terminal goes raw until the end, whatever the end, its keys go to the
    /// container's terminal (^C included) and its size follows SIGWINCH. The detach keys (<paramref name="detachKeys"/>: ^P ^Q
    /// unless --detach-keys names others, <see cref="DetachKeys"/>) detach: the container goes on, and this command exits 0, as
    /// docker's. Otherwise the container's exit code is this command's.
    /// </summary>
    private static async Task<int> TerminalAsync(CliApp app, CliContext cli, Stream connection, bool interactive, System.Collections.Immutable.ImmutableArray<byte> detachKeys,
        CancellationToken ct)
    {
        await using (connection)
        {
            using var client = new ExecStreamClient(connection);
            using var raw = interactive ? RawMode.Enter(0) : null;
            if (ExecConsole.Size() is { } size)
            {
                await client.ResizeAsync(size.Rows, size.Columns);
            }

            using var resized = ExecConsole.FollowSize(client);
            var keys = interactive ? new DetachKeys(app.ExecConsole.Input(), detachKeys) : null;
            var input = keys is null ? null : client.SendInputAsync(keys);
            try
            {
                await using var stdout = app.ExecConsole.Output();
                await using var stderr = app.ExecConsole.Error();
                var output = client.ReceiveOutputAsync(stdout, stderr, ct);
                if (input is not null && await Task.WhenAny(output, input) == input && keys!.Detached)
                {
                    raw?.Dispose();
                    return 0;
                }

                var (exitCode, _) = await output;
                raw?.Dispose();
                return exitCode;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                raw?.Dispose();
                return 130;
            }
            catch (Exception e) when (e is IOException or InvalidDataException)
            {
                raw?.Dispose();
                throw new SwarmCommandException(RejectCode.Unavailable,
                    $"the container's terminal stream from {cli.Node.Address} broke ({e.Message}); the container goes on (`protoswarm container logs` shows it). See protoswarmd's log.");
            }
        }
    }

    public static Command Start(CliApp app)
    {
        var attach = new Option<bool>("--attach", "-a") { Description = "Attach STDOUT/STDERR: print what the container prints and exit with its code" };
        var interactive = new Option<bool>("--interactive", "-i") { Description = "Attach the container's STDIN (its terminal's keys with -t; ^P ^Q detaches)" };
        var detachKeys = ExecCommand.DetachKeysOption("start");
        var names = Containers();
        var command = new Command("start", "Start one or more created or stopped containers").With(attach, interactive, detachKeys, names);
        command.Validators.Add(result =>
        {
            if ((result.GetValue(attach) || result.GetValue(interactive)) && result.GetValue(names) is { Length: > 1 })
            {
                result.AddError("you cannot start and attach multiple containers at once");
            }
        });
        app.SetAction(command, async (parse, cli, ct) =>
        {
            // docker's start -i attaches the output too.
            var interactiveStart = parse.GetValue(interactive);
            var request = new StartContainers(SwarmIds.NewRequestId(), [.. parse.GetRequiredValue(names)], parse.GetValue(attach) || interactiveStart,
                interactiveStart, interactiveStart && app.ExecConsole.InputIsTerminal());
            if (!request.Attach)
            {
                return await ChangeAsync(cli, request, ct);
            }

            try
            {
                var (started, connection) = await cli.Node.OpenStreamAsync<ContainerCreated>(request, Timeouts.Membership, ct);
                return await ReceiveAsync(app, cli, connection, ct, request.Interactive, started.Tty, DetachKeys.Parse(parse.GetValue(detachKeys)).Keys);
            }
            catch (SwarmCommandException e) when (e.Code != RejectCode.Unavailable)
            {
                await cli.Error.WriteLineAsync($"Error response from daemon: {e.Message}");
                await cli.Error.WriteLineAsync($"Error: failed to start containers: {request.Containers[0]}");
                return 1;
            }
        });
        return command;
    }

    public static Command Stop(CliApp app)
    {
        var time = new Option<int?>("--time", "-t") { Description = "Seconds to wait before killing the container (default: its stop grace period, 10 s)" };
        time.Aliases.Add("--timeout");
        var signal = StopSignalOption();
        var names = Containers();
        var command = new Command("stop", "Stop one or more running containers (a task's container too: the swarm replaces it)").With(signal, time, names);
        app.SetAction(command, (parse, cli, ct) =>
            ChangeAsync(cli, new StopContainers(SwarmIds.NewRequestId(), [.. parse.GetRequiredValue(names)], parse.GetValue(time), parse.GetValue(signal) ?? ""), ct, stop: true));
        return command;
    }

    public static Command Restart(CliApp app)
    {
        var time = new Option<int?>("--time", "-t") { Description = "Seconds to wait before killing the container (default: its stop grace period, 10 s)" };
        time.Aliases.Add("--timeout");
        var signal = StopSignalOption();
        var names = Containers();
        var command = new Command("restart", "Restart one or more standalone containers (stop, then start; a created or exited one just starts)").With(signal, time, names);
        app.SetAction(command, (parse, cli, ct) =>
            ChangeAsync(cli, new RestartContainers(SwarmIds.NewRequestId(), [.. parse.GetRequiredValue(names)], parse.GetValue(time), parse.GetValue(signal) ?? ""), ct, stop: true));
        return command;
    }

    /// <summary>docker 23's stop and restart -s: the signal sent first, SIGKILL after -t; the node parses it as kill's -s.</summary>
    private static Option<string?> StopSignalOption() =>
        new("--signal", "-s") { Description = "Signal to send to the container first: a name (TERM, SIGINT, RTMIN+3) or a number (default: its stop signal)" };

    public static Command Kill(CliApp app)
    {
        var signal = new Option<string>("--signal", "-s")
        {
            Description = "Signal to send to the container: a name (KILL, SIGTERM, HUP, RTMIN+3) or a number",
            DefaultValueFactory = _ => "KILL",
        };
        var names = Containers();
        var command = new Command("kill", "Kill one or more running containers (a task's container too: the swarm replaces it)").With(signal, names);
        app.SetAction(command, (parse, cli, ct) =>
            ChangeAsync(cli, new KillContainers(SwarmIds.NewRequestId(), [.. parse.GetRequiredValue(names)], parse.GetValue(signal) is { Length: > 0 } given ? given : "KILL"), ct));
        return command;
    }

    public static Command Remove(CliApp app, string name)
    {
        var force = new Option<bool>("--force", "-f") { Description = "Force the removal of a running container (uses SIGKILL)" };
        var volumes = new Option<bool>("--volumes", "-v") { Description = "Remove anonymous volumes associated with the container" };
        var names = Containers();
        var command = new Command(name, "Remove one or more standalone containers").With(force, volumes, names);
        if (name == "rm")
        {
            command.Aliases.Add("remove");
        }

        app.SetAction(command, (parse, cli, ct) => ChangeAsync(cli, new RemoveContainers(SwarmIds.NewRequestId(), [.. parse.GetRequiredValue(names)], parse.GetValue(force), parse.GetValue(volumes)), ct));
        return command;
    }

    public static Command Wait(CliApp app)
    {
        var names = Containers();
        var command = new Command("wait", "Block until one or more containers stop, then print their exit codes").With(names);
        app.SetAction(command, async (parse, cli, ct) =>
            await PerItem.ForEachAsync(cli, parse.GetRequiredValue(names), async reference =>
            {
                var exited = await cli.RequestAsync<ContainerExited>(new WaitContainer(SwarmIds.NewRequestId(), reference), Timeout.InfiniteTimeSpan, ct);
                await cli.Out.WriteLineAsync(exited.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }));
        return command;
    }

    public static Command Logs(CliApp app)
    {
        var follow = new Option<bool>("--follow", "-f") { Description = "Follow log output" };
        var tail = new Option<string>("--tail", "-n") { Description = "Number of lines to show from the end of the logs (all by default)", DefaultValueFactory = _ => "all" }
            .CheckedBy(t => RunRules.Tail(t, out _) ? null : $"invalid value for --tail: {t}: give a number of lines or all");
        var name = new Argument<string>("CONTAINER") { Description = "A container id, unique id prefix or name" };
        var command = new Command("logs", "Fetch the logs of a container (a task's or a standalone one)").With(follow, tail, name);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            RunRules.Tail(parse.GetValue(tail) ?? "all", out var lines);
            var request = new ReadContainerLogs(SwarmIds.NewRequestId(), parse.GetRequiredValue(name), parse.GetValue(follow), lines);
            var (_, connection) = await cli.Node.OpenStreamAsync<ContainerCreated>(request, Timeouts.Query, ct);
            await ReceiveAsync(app, cli, connection, ct);
            return 0;
        });
        return command;
    }

    private static Argument<string[]> Containers() =>
        new("CONTAINER") { Description = "Container ids, unique id prefixes or names", Arity = ArgumentArity.OneOrMore };

    /// <summary>
    /// docker's output of start, stop, restart, kill and rm: each container as it was named, or its error; exit 1 if any failed.
    /// start ends with docker's last line naming those it could not start.
    /// </summary>
    private static async Task<int> ChangeAsync(CliContext cli, object request, CancellationToken ct, bool stop = false)
    {
        var changed = await cli.RequestAsync<ContainersChanged>(request, stop ? Timeout.InfiniteTimeSpan : Timeouts.Change, ct);
        var failed = new List<string>();
        foreach (var result in changed.Results)
        {
            if (result.Error.Length == 0)
            {
                await cli.Out.WriteLineAsync(result.Container);
            }
            else
            {
                await cli.Error.WriteLineAsync($"Error response from daemon: {result.Error}");
                failed.Add(result.Container);
            }
        }

        if (request is StartContainers && failed.Count > 0)
        {
            await cli.Error.WriteLineAsync($"Error: failed to start containers: {string.Join(", ", failed)}");
        }

        return failed.Count > 0 ? 1 : 0;
    }

    /// <summary>
    /// Everything after IMAGE belongs to the container's command, also what looks like a flag (`run busybox ls -l`): a
    /// `--` goes in after IMAGE unless one is there. The command line unchanged when it is not a run or create.
    /// </summary>
    public static IReadOnlyList<string> SeparateCommand(IReadOnlyList<string> args)
    {
        var at = ArgumentRules.AfterHost(args);

        if (at < args.Count && args[at] == "container")
        {
            at++;
        }

        if (at >= args.Count || args[at] is not ("run" or "create"))
        {
            return args;
        }

        return ArgumentRules.SeparateAfterFirstOperand(args, at + 1, ValuedFlags, unlessSeparated: false);
    }
}

/// <summary>The checks and the request of run and create, apart from the command line so they are tested alone.</summary>
internal static class RunRules
{
    /// <summary>
    /// docker run's exit code for the daemon's refusal, told by its words as docker's CLI tells it: 127 when the command was not
    /// found, 126 when it could not be run, 125 for anything else (the daemon's own error).
    /// </summary>
    public static int ExitCode(string error) =>
        error.Contains("executable file not found", StringComparison.Ordinal) || error.Contains("no such file or directory", StringComparison.Ordinal) ? 127
        : error.Contains("permission denied", StringComparison.Ordinal) || error.Contains("is a directory", StringComparison.Ordinal) ? 126
        : 125;

    /// <summary>docker's refusal of a container name, or null when it is one.</summary>
    public static string? NameError(string name) =>
        System.Text.RegularExpressions.Regex.IsMatch(name.TrimStart('/'), "^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
            ? null
            : $"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed";

    /// <summary>docker's --tail: a number of lines, or all (null).</summary>
    public static bool Tail(string text, out int? lines)
    {
        lines = null;
        if (text == "all")
        {
            return true;
        }

        if (int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n))
        {
            lines = n;
            return true;
        }

        return false;
    }

    /// <summary>docker's labels of a run: the --label-file ones first, a --label after them wins (each already checked).</summary>
    public static System.Collections.Immutable.ImmutableSortedDictionary<string, string> Labels(IEnumerable<string> files, IEnumerable<string> labels) =>
        labels.Select(l => ServiceFlags.Label("--label", l).Value).Aggregate(
            files.Aggregate(System.Collections.Immutable.ImmutableSortedDictionary<string, string>.Empty, (all, f) => all.SetItems(ServiceFlags.LabelFile("--label-file", f).Value)),
            (all, l) => all.SetItem(l.Key, l.Value));

    /// <summary>docker's refusals of a --memory below 6 MB (the least a container starts with) and of a --memory-reservation above
    /// --memory, naming the flags (a bad size is the flag's own error), or null.</summary>
    public static string? ResourcesError(string? memory, string? reservation)
    {
        var limit = memory is null ? 0 : ServiceFlags.Memory("--memory", memory) is { IsValid: true } m ? m.Value : 0;
        var soft = reservation is null ? 0 : ServiceFlags.Memory("--memory-reservation", reservation) is { IsValid: true } r ? r.Value : 0;
        return limit is > 0 and < MinimumMemory ? $"Minimum memory limit allowed is 6MB (--memory {memory})"
            : limit > 0 && soft > limit ? $"Minimum memory limit can not be less than memory reservation limit, see usage (--memory {memory}, --memory-reservation {reservation})"
            : null;
    }

    private const long MinimumMemory = 6L << 20;

    /// <summary>docker's --stop-timeout: whole seconds, 0 or more (docker's -1, wait for ever, is refused here), or null when fine.</summary>
    public static string? StopTimeoutError(string value) =>
        int.TryParse(value, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
            ? seconds >= 0 ? null : $"invalid argument \"{value}\" for \"--stop-timeout\" flag: a stop that never turns to SIGKILL is not available here; give the seconds to wait, 0 or more"
            : $"invalid argument \"{value}\" for \"--stop-timeout\" flag: give whole seconds, e.g. --stop-timeout 30";

    /// <summary>docker's --pids-limit: a number of processes, 0 or -1 (or less) for no limit; null when fine.</summary>
    public static string? PidsLimitError(string value) =>
        long.TryParse(value, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out _)
            ? null
            : $"invalid argument \"{value}\" for \"--pids-limit\" flag: give a number of processes (-1 for unlimited), e.g. --pids-limit 100";

    /// <summary>
    /// The run with docker's confinement, health, resolver, log and port flags (<paramref name="flags"/>, by docker run's names,
    /// each value already checked alone), assembled as a service's flags of the same meaning are; or the refusal of their
    /// combination (--no-healthcheck with a --health-* flag, a --log-opt the driver does not take). As docker's run, --log-opt
    /// without --log-driver gives options to the default driver, json-file.
    /// </summary>
    public static Checked<RunContainer> Confined(RunContainer run, FlagValues flags) => ServiceFlags.Combined(() =>
    {
        if (flags.Has("--log-opt") && !flags.Has("--log-driver"))
        {
            flags.Add("--log-driver", LogDriverRule.JsonFile);
        }

        static System.Collections.Immutable.ImmutableArray<string> Distinct(IEnumerable<string> values) => [.. values.Distinct(StringComparer.Ordinal)];
        return run with
        {
            CapAdd = Distinct(flags.All("--cap-add").Select(v => ServiceFlags.Capability("--cap-add", v)).Where(c => c.IsValid).Select(c => c.Value)),
            CapDrop = Distinct(flags.All("--cap-drop").Select(v => ServiceFlags.Capability("--cap-drop", v)).Where(c => c.IsValid).Select(c => c.Value)),
            ReadOnly = flags.Has("--read-only"),
            Init = flags.Has("--init") ? true : null,
            StopSignal = flags.Last("--stop-signal") ?? string.Empty,
            StopTimeout = int.TryParse(flags.Last("--stop-timeout"), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var timeout) ? timeout : null,
            HealthCheck = ServiceFlags.Health(null, flags),
            Hosts = ServiceFlags.HostLines([], flags.All("--add-host"), []),
            Dns = new DnsConfig(Distinct(flags.All("--dns").Select(v => v.Trim())), Distinct(flags.All("--dns-search").Select(v => v.Trim())),
                Distinct(flags.All("--dns-option").Select(v => v.Trim()))),
            Sysctls = ServiceFlags.Sysctls(NamespacedSysctls.None, flags.All("--sysctl"), []),
            Ulimits = ServiceFlags.Ulimits([], flags.All("--ulimit"), []),
            // docker's 0 and -1 (any negative) are no limit.
            PidsLimit = long.TryParse(flags.Last("--pids-limit"), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var pids) ? Math.Max(0, pids) : 0,
            GroupAdd = Distinct(flags.All("--group-add").Select(v => v.Trim())),
            Tmpfs = [.. flags.All("--tmpfs")],
            LogDriver = ServiceFlags.LogDriverOf(null, flags),
            Expose = [.. flags.All("--expose")],
            ShmSize = flags.Last("--shm-size") is { } shm ? ServiceFlags.Memory("--shm-size", shm).Value : 0,
        };
    });

    /// <summary>The request: --entrypoint is one word, as docker's run takes it ("" clears the image's).</summary>
    public static RunContainer Request(string image, IReadOnlyList<string> command, string? entrypoint, IReadOnlyList<string> env, string? workdir, string? user,
        string? name, bool autoRemove, bool tty, string? network, bool start, bool attach, bool interactive = false) =>
        new(
            SwarmIds.NewRequestId(),
            image,
            [.. command],
            entrypoint is null ? null : entrypoint.Length == 0 ? [] : [entrypoint],
            [.. env],
            workdir ?? string.Empty,
            user ?? string.Empty,
            name?.TrimStart('/') ?? string.Empty,
            autoRemove,
            tty,
            network ?? string.Empty,
            start,
            attach,
            interactive);
}
