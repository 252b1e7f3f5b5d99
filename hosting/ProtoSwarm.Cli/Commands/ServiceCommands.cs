using System.CommandLine;
using System.Globalization;
using ProtoSwarm.Cli.Output;
using ProtoSwarm.Client;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Commands;

/// <summary>
/// How `service create/update/rollback/scale` wait: docker polls every 200 ms and watches a converged
/// service for its monitor period before saying so (StableFor null); tests set a fixed StableFor.
/// </summary>
internal sealed record ServiceWaitTiming(TimeSpan PollInterval, TimeSpan? StableFor)
{
    public static readonly ServiceWaitTiming Default = new(TimeSpan.FromMilliseconds(200), null);
}

/// <summary>`protoswarm service create|ls|ps|inspect|logs|update|rollback|scale|rm`, with docker's flags and output.</summary>
internal static class ServiceCommands
{
    /// <summary>How many times a change is made again from a fresh read when the service changed under it.</summary>
    private const int ChangeAttempts = 5;

    public static Command Create(CliApp app) =>
        new Command("service", "Manage swarm services").With(
            CreateCommand(app), Inspect(app), ServiceLogsCommand.Create(app), List(app), Tasks(app), Remove(app), Rollback(app), Scale(app), Update(app));

    /// <summary>`service create alpine ping -c 3 host`: <see cref="ArgumentRules.SeparateAfterFirstOperand"/> after the image.</summary>
    public static IReadOnlyList<string> SeparateContainerCommand(IReadOnlyList<string> args)
    {
        var start = -1;
        for (var i = 0; i + 1 < args.Count; i++)
        {
            if (args[i] == "service" && args[i + 1] == "create")
            {
                start = i + 2;
                break;
            }
        }

        if (start < 0)
        {
            return args;
        }

        var valued = ServiceFlags.For(FlagUse.Create).Where(f => !f.IsSwitch)
            .SelectMany(f => f.Alias is null ? [f.Name] : new[] { f.Name, f.Alias })
            .Append("--host").Append("-H")
            .ToHashSet(StringComparer.Ordinal);
        return ArgumentRules.SeparateAfterFirstOperand(args, start, valued, unlessSeparated: true);
    }

    private static Command CreateCommand(CliApp app)
    {
        var options = ServiceOptions.Build(FlagUse.Create);
        var image = new Argument<string[]>("IMAGE [COMMAND] [ARG...]")
        {
            Description = "The image to run, then the command and its arguments (everything after the image goes to the container)",
            Arity = ArgumentArity.OneOrMore,
        };
        var command = new Command("create", "Create a new service").With([.. options.Options, image]);
        command.Validators.Add(result =>
        {
            if (result.GetValue(image) is not { Length: > 0 } words || options.HasErrors(result))
            {
                return;
            }

            var flags = options.Collect(result.GetValue, result.GetValue, o => result.GetResult(o) is { Implicit: false });
            var spec = ServiceFlags.Create(flags, words[0], words[1..], () => "name");
            if ((spec.Error ?? ServiceFlags.ResolveImageMode(flags, ResolveImageModes.Always).Error) is { } error)
            {
                result.AddError(error);
            }
        });
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var flags = options.Collect(parse.GetValue, parse.GetValue, o => parse.GetResult(o) is { Implicit: false });
            var words = parse.GetRequiredValue(image);
            var spec = ServiceFlags.Create(flags, words[0], words[1..], ServiceNames.Pick).Value;
            var created = await cli.Swarm.Services.CreateAsync(spec, ServiceFlags.ResolveImageMode(flags, ResolveImageModes.Always).Value, ct);
            await PrintWarnings(cli, created.Warnings);
            await cli.Out.WriteLineAsync(created.ServiceId);
            return flags.Has("--detach") ? 0 : await WaitAsync(app, cli, created.ServiceId, flags.Has("--quiet"), rollbackRequested: false, ct);
        });
        return command;
    }

    private static Command List(CliApp app)
    {
        var command = ServiceListCommand(app, "ls", "List services", stack: null);
        command.Aliases.Add("list");
        return command;
    }

    /// <summary>
    /// `service ls` and `stack services STACK`: the same listing, flags and filters. With a stack only
    /// the services labelled with its namespace are listed, and none found is said on stderr (exit 0), as docker does.
    /// </summary>
    internal static Command ServiceListCommand(CliApp app, string name, string description, Argument<string>? stack)
    {
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Only display IDs" };
        var format = new Option<string?>("--format")
        {
            Description = "Format output: table (default), json, or a Go template such as '{{.ID}}\\t{{.Name}}'",
        }.CheckedBy(v => ListingFormat.Check(v, ServiceView.Columns.Keys.ToList()));
        var filter = new Option<string[]>("--filter", "-f")
        {
            Description = $"Filter output based on conditions provided ({string.Join(", ", ServiceFilter.ServiceKeys)})",
            DefaultValueFactory = _ => [],
        }.CheckedBy(ServiceFilter.CheckService);
        var command = new Command(name, description).With(quiet, format, filter);
        if (stack is not null)
        {
            command.Arguments.Add(stack);
        }

        app.SetAction(command, async (parse, cli, ct) =>
        {
            var listing = ListingFormat.Parse(parse.GetValue(format), parse.GetValue(quiet), ServiceView.Columns.Keys.ToList(), out _)!;
            var serviceFilter = ServiceFilter.Parse(parse.GetValue(filter) ?? []);
            var stackName = stack is null ? null : parse.GetRequiredValue(stack);
            var services = (await cli.Swarm.Services.ListAsync(ct))
                .Where(s => serviceFilter.Matches(s.Service) && (stackName is null || StackView.InStack(s.Service.Spec.Labels, stackName)))
                .ToList();
            if (stackName is not null && services.Count == 0)
            {
                await cli.Error.WriteLineAsync(StackView.NothingFound(stackName));
                return 0;
            }

            var rows = ServiceView.Sorted(services).Select(ServiceView.Row).ToList();
            await cli.Out.WriteAsync(listing.Render(rows.Select(ServiceView.ToJson).ToList(), () => ServiceView.Table(rows), ServiceView.Columns));
            return 0;
        });
        return command;
    }

    private static Command Tasks(CliApp app) =>
        TaskListCommand(app, "List the tasks of one or more services", ServiceRefs("The services whose tasks to list"),
            (refs, cli, ct) => cli.Swarm.Services.TasksAsync(refs, ct: ct));

    /// <summary>`service ps`, `node ps` and `stack ps`: the same listing, flags and filters; only whose tasks differ.</summary>
    /// <param name="nothingFound">When given, what fails the command when no task is left after the filters (docker's `stack ps` filters in its task query, then fails on an empty answer).</param>
    internal static Command TaskListCommand<TRefs>(CliApp app, string description, Argument<TRefs> refs,
        Func<TRefs, CliContext, CancellationToken, Task<TaskList>> fetch, Func<TRefs, string>? nothingFound = null)
    {
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Only display task IDs" };
        var noTrunc = new Option<bool>("--no-trunc") { Description = "Do not truncate output" };
        var format = new Option<string?>("--format")
        {
            Description = "Format output: table (default), json, or a Go template such as '{{.Name}}\\t{{.CurrentState}}'",
        }.CheckedBy(v => ListingFormat.Check(v, ServiceView.TaskAndStatsColumns.Keys.ToList()));
        var filter = new Option<string[]>("--filter", "-f")
        {
            Description = $"Filter output based on conditions provided ({string.Join(", ", ServiceFilter.TaskKeys)})",
            DefaultValueFactory = _ => [],
        }.CheckedBy(ServiceFilter.CheckTask);
        var stats = new Option<bool>("--stats")
        {
            Description = "Add the CPU %, MEM USAGE / LIMIT and PIDS of running tasks, asked of their nodes (also fields of --format: {{.CPUPerc}}, {{.MemUsage}}, {{.PIDs}})",
        };
        var command = new Command("ps", description).With(quiet, noTrunc, format, filter, stats, refs);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var quietly = parse.GetValue(quiet);
            var listing = ListingFormat.Parse(parse.GetValue(format), quietly, ServiceView.TaskAndStatsColumns.Keys.ToList(), out _)!;
            var taskFilter = ServiceFilter.Parse(parse.GetValue(filter) ?? []);
            var list = await fetch(parse.GetValue(refs)!, cli, ct);
            var tasks = list.Tasks.Where(t => taskFilter.Matches(t, list)).ToList();
            if (tasks.Count == 0 && nothingFound is not null)
            {
                throw new SwarmCommandException(RejectCode.NotFound, nothingFound(parse.GetValue(refs)!));
            }

            var withStats = !quietly && (parse.GetValue(stats) || listing.Reads(ServiceView.StatsColumns.Keys));
            var usage = withStats ? await UsageAsync(cli, tasks, ct) : null;
            var rows = ServiceView.TaskRows(list, tasks, DateTimeOffset.UtcNow, parse.GetValue(noTrunc), usage);
            await cli.Out.WriteAsync(listing.Render(rows.Select(ServiceView.ToJson).ToList(), () => ServiceView.TaskTable(rows, withStats), ServiceView.TaskAndStatsColumns));
            return 0;
        });
        return command;
    }

    /// <summary>The usage of the running ones among the tasks listed; the nodes that could not say are named on stderr, and the listing still prints.</summary>
    private static async Task<IReadOnlyDictionary<string, TaskUsage>> UsageAsync(CliContext cli, IEnumerable<TaskObject> tasks, CancellationToken ct)
    {
        var running = tasks.Where(t => t.Status.State == TaskState.Running).Select(t => t.Id).ToList();
        if (running.Count == 0)
        {
            return new Dictionary<string, TaskUsage>();
        }

        var found = await cli.Swarm.Services.UsageAsync(running, ct);
        await PrintWarnings(cli, found.Warnings.Select(w => "Warning: " + w));
        return found.Tasks.ToDictionary(u => u.TaskId, StringComparer.Ordinal);
    }

    private static Command Inspect(CliApp app)
    {
        var pretty = new Option<bool>("--pretty") { Description = "Print the information in a human friendly format" };
        var format = new Option<string?>("--format", "-f")
        {
            Description = "Format output using a Go template, such as '{{.Spec.Name}}'",
        }.CheckedBy(f => PerItem.InspectFormatError(f, ServiceView.InspectFields));
        var services = ServiceRefs("The services to inspect");
        var command = new Command("inspect", "Display detailed information on one or more services").With(pretty, format, services);
        command.Validators.Add(result =>
        {
            if (result.GetValue(pretty) && result.GetValue(format) is not null)
            {
                result.AddError("--format cannot be combined with --pretty, which has a format of its own.");
            }
        });
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var found = new List<ServiceDetails>();
            var status = await PerItem.ForEachAsync(cli, parse.GetRequiredValue(services), async typed =>
                found.Add(await cli.Swarm.Services.InspectAsync(typed, ct)));
            if (parse.GetValue(pretty))
            {
                // The spec holds network ids; docker's pretty text names them.
                var networkNames = found.Any(d => d.Service.Spec.TaskTemplate.Networks.Length > 0)
                    ? (await cli.Swarm.Networks.ListAsync(ct)).ToDictionary(n => n.Id, n => n.Spec.Name, StringComparer.Ordinal)
                    : null;
                var now = DateTimeOffset.UtcNow;
                await cli.Out.WriteAsync(string.Concat(found.Select(d => ServiceView.Pretty(d, now, networkNames))));
            }
            else
            {
                await cli.Out.WriteAsync(PerItem.Inspected(found, ServiceView.Inspect, parse.GetValue(format)));
            }

            return status;
        });
        return command;
    }

    private static Command Update(CliApp app)
    {
        var options = ServiceOptions.Build(FlagUse.Update);
        var service = new Argument<string>("SERVICE") { Description = "The service's id, id prefix or name" }
            .CheckedBy(ServiceRef);
        var command = new Command("update", "Update a service").With([.. options.Options, service]);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var flags = options.Collect(parse.GetValue, parse.GetValue, o => parse.GetResult(o) is { Implicit: false });
            var resolveImage = ServiceFlags.ResolveImageMode(flags, ResolveImageModes.Changed);
            if (resolveImage.Error is { } refused)
            {
                throw new SwarmCommandException(RejectCode.InvalidArgument, refused);
            }

            var typed = parse.GetRequiredValue(service);
            var details = await cli.Swarm.Services.InspectAsync(typed, ct);
            var current = details.Service;
            ServiceUpdated updated;
            var rollback = flags.Has("--rollback");
            if (rollback)
            {
                var other = flags.Given.Where(f => f is not ("--rollback" or "--detach" or "--quiet")).ToList();
                if (other.Count > 0)
                {
                    throw new SwarmCommandException(RejectCode.InvalidArgument, $"--rollback returns to the previous spec and cannot be combined with {string.Join(", ", other)}.");
                }

                updated = await RollbackAsync(cli, current, typed, ct);
            }
            else
            {
                // The managers store network ids; --network-add/--network-rm name networks (by name, id or id prefix), so each is turned into its id.
                List<NetworkObject> networks = flags.Has("--network-add") || flags.Has("--network-rm") ? [.. await cli.Swarm.Networks.ListAsync(ct)] : [];
                updated = await ChangeAsync(cli, current, typed, read =>
                {
                    var spec = ServiceFlags.Update(read.Spec, flags, (flag, networkRef) => ServiceFlags.NetworkId(networks, flag, networkRef));
                    return spec.Error is { } error ? throw new SwarmCommandException(RejectCode.InvalidArgument, error) : spec.Value;
                }, resolveImage.Value, ct);
            }

            await PrintWarnings(cli, updated.Warnings);
            await cli.Out.WriteLineAsync(typed);
            return flags.Has("--detach") ? 0 : await WaitAsync(app, cli, current.Id, flags.Has("--quiet"), rollback, ct);
        });
        return command;
    }

    /// <summary>
    /// Sends a change made from the service as read. The managers also write the service (an update's
    /// progress), so the version read can be stale by the time the change arrives: the change is then
    /// made again from a fresh read, since flags and scales say how to change the spec, not what it was.
    /// </summary>
    internal static async Task<ServiceUpdated> ChangeAsync(
        CliContext cli, ServiceObject current, string typed, Func<ServiceObject, ServiceSpec> change, string resolveImage, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await cli.Swarm.Services.UpdateAsync(current.Id, current.Meta.Version, change(current), resolveImage, ct);
            }
            catch (SwarmCommandException e) when (e.Code == RejectCode.Conflict && attempt < ChangeAttempts)
            {
                current = (await cli.Swarm.Services.InspectAsync(typed, ct)).Service;
            }
        }
    }

    private static Command Rollback(CliApp app)
    {
        var detach = new Option<bool>("--detach", "-d") { Description = "Exit immediately instead of waiting for the service to converge" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Suppress progress output" };
        var service = new Argument<string>("SERVICE") { Description = "The service's id, id prefix or name" }
            .CheckedBy(ServiceRef);
        var command = new Command("rollback", "Revert changes to a service's configuration").With(detach, quiet, service);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var typed = parse.GetRequiredValue(service);
            var details = await cli.Swarm.Services.InspectAsync(typed, ct);
            var updated = await RollbackAsync(cli, details.Service, typed, ct);
            await PrintWarnings(cli, updated.Warnings);
            await cli.Out.WriteLineAsync(typed);
            return parse.GetValue(detach) ? 0 : await WaitAsync(app, cli, details.Service.Id, parse.GetValue(quiet), rollbackRequested: true, ct);
        });
        return command;
    }

    private static Command Scale(CliApp app)
    {
        var detach = new Option<bool>("--detach", "-d") { Description = "Exit immediately instead of waiting for the service to converge" };
        var pairs = new Argument<string[]>("SERVICE=REPLICAS") { Description = "A service and its number of tasks, e.g. web=3", Arity = ArgumentArity.OneOrMore }
            .CheckedBy(v => ScaleArgument(v).Error);
        var command = new Command("scale", "Scale one or multiple replicated services").With(detach, pairs);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var scaled = new List<string>();
            var status = await PerItem.ForEachAsync(cli, parse.GetRequiredValue(pairs), async pair =>
            {
                var (name, replicas) = ScaleArgument(pair).Value;
                var current = (await cli.Swarm.Services.InspectAsync(name, ct)).Service;
                var updated = await ChangeAsync(cli, current, name, read =>
                {
                    var mode = read.Spec.Mode;
                    return mode.Kind switch
                    {
                        ServiceModeKind.Replicated => read.Spec with { Mode = mode with { Replicas = replicas } },
                        ServiceModeKind.ReplicatedJob => read.Spec with { Mode = mode with { TotalCompletions = replicas } },
                        _ => throw new SwarmCommandException(RejectCode.InvalidArgument,
                            $"{name}: scale can only be used with replicated or replicated-job mode; a global service runs one task on every eligible node."),
                    };
                }, ResolveImageModes.Changed, ct);
                await PrintWarnings(cli, updated.Warnings);
                await cli.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{name} scaled to {replicas}"));
                scaled.Add(current.Id);
            });
            if (!parse.GetValue(detach))
            {
                foreach (var id in scaled)
                {
                    status = Math.Max(status, await WaitAsync(app, cli, id, quiet: false, rollbackRequested: false, ct));
                }
            }

            return status;
        });
        return command;
    }

    private static Command Remove(CliApp app)
    {
        var services = ServiceRefs("The services to remove");
        var command = new Command("rm", "Remove one or more services").With(services);
        command.Aliases.Add("remove");
        app.SetAction(command, (parse, cli, ct) => PerItem.ForEachAsync(cli, parse.GetRequiredValue(services), async typed =>
        {
            await cli.Swarm.Services.RemoveAsync(typed, ct);
            await cli.Out.WriteLineAsync(typed);
        }));
        return command;
    }

    public static Checked<(string Service, long Replicas)> ScaleArgument(string value)
    {
        var parts = value.Split('=', 2);
        if (parts.Length != 2 || parts[0].Trim().Length == 0)
        {
            return Checked<(string, long)>.Fail($"'{value}' is not SERVICE=REPLICAS; write it as, e.g., web=3.");
        }

        var count = ServiceFlags.Count("replicas", parts[1]);
        return count.IsValid
            ? Checked<(string, long)>.Ok((parts[0].Trim(), count.Value))
            : Checked<(string, long)>.Fail($"'{value}': '{parts[1]}' is not a number of replicas; give 0 or more, e.g. {parts[0].Trim()}=3.");
    }

    private static async Task<ServiceUpdated> RollbackAsync(CliContext cli, ServiceObject service, string typed, CancellationToken ct) =>
        service.PreviousSpec is null
            ? throw new SwarmCommandException(RejectCode.InvalidArgument, $"service {typed} has no previous spec to roll back to; it was never updated.")
            : await cli.Swarm.Services.RollbackAsync(service.Id, service.Meta.Version, ct);

    /// <summary>
    /// Waits until the service converged, printing docker's progress unless quiet. A paused update or
    /// rollback, or an automatic rollback, ends with its message and exit code 1; an update the managers
    /// completed though tasks still fail ends with 0, as docker's; Ctrl-C only stops the waiting.
    /// </summary>
    internal static async Task<int> WaitAsync(CliApp app, CliContext cli, string serviceId, bool quiet, bool rollbackRequested, CancellationToken ct)
    {
        var services = cli.Swarm.Services;
        services.PollInterval = app.WaitTiming.PollInterval;
        services.StableFor = app.WaitTiming.StableFor;
        var printer = quiet ? null : new ProgressPrinter(cli.Out, cli.OutIsTerminal);
        try
        {
            var final = await services.WaitConvergedAsync(serviceId, rollbackRequested, printer, ct);
            if (ServiceProgressView.Failure(final, rollbackRequested) is { } failure)
            {
                await cli.Error.WriteLineAsync($"Error: {failure}");
                return 1;
            }

            return 0;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            await cli.Error.WriteLineAsync("Operation continuing in background.");
            await cli.Error.WriteLineAsync($"Use `protoswarm service ps {serviceId}` to check progress.");
            return 130;
        }
    }

    internal static async Task PrintWarnings(CliContext cli, IEnumerable<string> warnings)
    {
        foreach (var warning in warnings)
        {
            await cli.Error.WriteLineAsync(warning);
        }
    }

    private static Argument<string[]> ServiceRefs(string description) =>
        new Argument<string[]>("SERVICE") { Description = description, Arity = ArgumentArity.OneOrMore }.CheckedBy(ServiceRef);

    private static string? ServiceRef(string value) =>
        value.Trim().Length == 0 ? "A service must be named by its id, an id prefix or its name; got an empty name." : null;

}

/// <summary>The System.CommandLine options for a command's service flags, and the values given to them.</summary>
internal sealed class ServiceOptions
{
    private readonly List<(ServiceFlag Flag, Option Option)> _options = [];

    public IEnumerable<Option> Options => _options.Select(o => o.Option);

    public static ServiceOptions Build(FlagUse use)
    {
        var built = new ServiceOptions();
        foreach (var flag in ServiceFlags.For(use))
        {
            var aliases = flag.Alias is null ? Array.Empty<string>() : [flag.Alias];
            Option option = flag.IsSwitch
                ? new Option<bool>(flag.Name, aliases) { Description = flag.Description }
                : new Option<string[]>(flag.Name, aliases) { Description = flag.Description, DefaultValueFactory = _ => [] }
                    .CheckedBy(v => flag.Check!(v));
            built._options.Add((flag, option));
        }

        return built;
    }

    /// <summary>True when a value was already refused by its own check, so the command's validator says nothing more.</summary>
    public bool HasErrors(System.CommandLine.Parsing.CommandResult result) =>
        _options.Any(o => result.GetResult(o.Option) is { } r && r.Errors.Any());

    /// <summary>The values given; <paramref name="given"/> tells a switch written as --x=false from one left out.</summary>
    public FlagValues Collect(Func<Option<bool>, bool> switches, Func<Option<string[]>, string[]?> values, Func<Option, bool>? given = null)
    {
        var flags = new FlagValues();
        foreach (var (flag, option) in _options)
        {
            switch (option)
            {
                case Option<bool> s when switches(s):
                    flags.Add(flag.Name, "true");
                    break;
                case Option<bool> s when given?.Invoke(s) == true:
                    flags.AddFalse(flag.Name);
                    break;
                case Option<string[]> v:
                    foreach (var value in values(v) ?? [])
                    {
                        flags.Add(flag.Name, value);
                    }

                    break;
            }
        }

        return flags;
    }
}

/// <summary>A name for a service created without --name, as docker's daemon picks one: two words and a dash.</summary>
internal static class ServiceNames
{
    private static readonly string[] Adjectives =
        ["amber", "bold", "brisk", "calm", "clever", "eager", "gentle", "happy", "keen", "lucid", "merry", "nimble", "quiet", "rapid", "steady", "sunny", "swift", "tidy", "vivid", "witty"];

    private static readonly string[] Nouns =
        ["badger", "comet", "falcon", "harbor", "heron", "lantern", "maple", "meadow", "orbit", "otter", "pebble", "quartz", "raven", "river", "sparrow", "summit", "tiger", "willow", "zephyr", "cedar"];

    public static string Pick() =>
        $"{Adjectives[Random.Shared.Next(Adjectives.Length)]}-{Nouns[Random.Shared.Next(Nouns.Length)]}";
}
