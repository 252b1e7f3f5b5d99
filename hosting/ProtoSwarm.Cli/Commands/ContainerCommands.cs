using System.Collections.Immutable;
using System.CommandLine;
using System.Globalization;
using System.Text.RegularExpressions;
using ProtoSwarm.Cli.Output;
using ProtoSwarm.Client;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Commands;

/// <summary>
/// docker's node-local container commands: `ps` (and `container ls|list|ps`), `container inspect`, `stats`
/// (and `container stats`), `port` (and `container port`) and `container prune`. A container is a task's container on the node this CLI talks to, named as docker names
/// a swarm task's (SERVICE.SLOT.TASKID); the node answers them itself, in a swarm or not, worker or manager.
/// </summary>
internal static class ContainerCommands
{
    /// <summary>docker's `ps --filter` keys that apply here.</summary>
    public static readonly ImmutableArray<string> FilterKeys = ["ancestor", "exited", "health", "id", "is-task", "label", "name", "status"];

    private static readonly string[] Statuses = ["created", "restarting", "running", "removing", "paused", "exited", "dead"];

    public static Command Container(CliApp app) =>
        new Command("container", "Manage this node's containers (the tasks' and standalone ones)").With(List(app, "ls"), Inspect(app), Stats(app),
            RunCommand.Run(app), RunCommand.CreateOnly(app), RunCommand.Start(app), RunCommand.Stop(app), RunCommand.Restart(app), RunCommand.Kill(app), RunCommand.Remove(app, "rm"), Prune(app),
            Port(app), RunCommand.Logs(app), RunCommand.Wait(app));

    public static Command Ps(CliApp app) => List(app, "ps");

    public static Command TopStats(CliApp app) => Stats(app);

    public static string? CheckFilter(string filter) => ServiceFilter.Check(filter, FilterKeys, (key, value) => key switch
    {
        "status" when !Statuses.Contains(value) => $"status must be one of {string.Join(", ", Statuses)}",
        "exited" when !int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _) => "exited must be an exit code (a number)",
        "health" when value is not ("starting" or "healthy" or "unhealthy" or "none") => "health must be starting, healthy, unhealthy or none",
        "is-task" when value is not ("true" or "false" or "1" or "0") => "is-task must be true or false",
        _ => null,
    });

    /// <summary>docker's matching: values of one key are alternatives, keys combine.</summary>
    public static bool Matches(ContainerObject c, IEnumerable<string> filters) =>
        filters.Select(f => f.Split('=', 2)).GroupBy(p => p[0].Trim(), p => p[1], StringComparer.Ordinal).All(term => term.Any(value => term.Key switch
        {
            "id" => c.Id.StartsWith(value, StringComparison.Ordinal),
            "name" => Like(c.Name, value),
            "label" => ServiceFilter.MatchesLabel(c.Labels, value),
            "status" => c.State == value,
            "exited" => c.State == "exited" && c.ExitCode == int.Parse(value, CultureInfo.InvariantCulture),
            "health" => (c.Health.Length == 0 ? "none" : c.Health) == value,
            "ancestor" => Ancestor(c, value),
            "is-task" => (value is "true" or "1") == c.Labels.ContainsKey("com.docker.swarm.task"),
            _ => false,
        }));

    // docker's name filter is a regular expression found anywhere in the name; one that does not parse is taken as text.
    private static bool Like(string name, string pattern)
    {
        try
        {
            return Regex.IsMatch(name, pattern, RegexOptions.None, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException)
        {
            return name.Contains(pattern, StringComparison.Ordinal);
        }
    }

    /// <summary>docker's ancestor: the image by reference (with or without its tag or digest) or by id.</summary>
    private static bool Ancestor(ContainerObject c, string value)
    {
        var image = ContainerView.ImageText(c.Image, noTrunc: false);
        var tagged = ImageReference.HasTag(image);
        var untagged = tagged ? image[..image.LastIndexOf(':')] : image;
        var id = c.ImageId.StartsWith("sha256:", StringComparison.Ordinal) ? c.ImageId["sha256:".Length..] : c.ImageId;
        return value == c.Image || value == image
            || (value == untagged && (!tagged || image.EndsWith(":latest", StringComparison.Ordinal)))
            || (value.Length >= 4 && id.Length > 0 && (c.ImageId.StartsWith(value, StringComparison.Ordinal) || id.StartsWith(value, StringComparison.Ordinal)));
    }

    private static Command List(CliApp app, string name)
    {
        var all = new Option<bool>("--all", "-a") { Description = "Show all containers (default shows just running)" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Only display container IDs" };
        var last = new Option<int>("--last", "-n") { Description = "Show n last created containers (includes all states)", DefaultValueFactory = _ => -1 };
        var latest = new Option<bool>("--latest", "-l") { Description = "Show the latest created container (includes all states)" };
        var noTrunc = new Option<bool>("--no-trunc") { Description = "Don't truncate output" };
        var format = new Option<string?>("--format")
        {
            Description = "Format output: table (default), json, or a Go template such as '{{.ID}}'",
        }.CheckedBy(v => ListingFormat.Check(v, ContainerView.Columns.Keys.ToList()));
        var filter = new Option<string[]>("--filter", "-f")
        {
            Description = $"Filter output based on conditions provided ({string.Join(", ", FilterKeys)})",
            DefaultValueFactory = _ => [],
        }.CheckedBy(CheckFilter);
        var command = new Command(name, "List this node's containers").With(all, quiet, last, latest, noTrunc, format, filter);
        if (name == "ls")
        {
            command.Aliases.Add("list");
            command.Aliases.Add("ps");
        }

        app.SetAction(command, async (parse, cli, ct) =>
        {
            var listing = ListingFormat.Parse(parse.GetValue(format), parse.GetValue(quiet), ContainerView.Columns.Keys.ToList(), out _)!;
            var filters = parse.GetValue(filter) ?? [];
            var count = parse.GetValue(latest) ? 1 : parse.GetValue(last);
            // docker: -n and -l take every state; so does a status or exited filter.
            var everyState = parse.GetValue(all) || count > 0 || filters.Any(f => f.StartsWith("status=", StringComparison.Ordinal) || f.StartsWith("exited=", StringComparison.Ordinal));
            var list = await cli.RequestAsync<ContainerList>(new ListContainers(SwarmIds.NewRequestId(), everyState), Timeouts.Query, ct);
            var containers = ContainerView.Sorted(list.Containers.Where(c => Matches(c, filters)));
            if (count > 0)
            {
                containers = containers.Take(count);
            }

            var now = DateTimeOffset.UtcNow;
            var rows = containers.Select(c => ContainerView.Row(c, now, parse.GetValue(noTrunc))).ToList();
            await cli.Out.WriteAsync(listing.Render([.. rows.Select(ContainerView.ToJson)], () => ContainerView.Table(rows), ContainerView.Columns));
            return 0;
        });
        return command;
    }

    /// <summary>
    /// The container <paramref name="reference"/> names among the node's: docker's order, a full id, then a name
    /// (with or without docker's leading '/'), then a unique id prefix. Null when none; an ambiguous prefix throws.
    /// </summary>
    public static ContainerObject? Find(IReadOnlyList<ContainerObject> containers, string reference)
    {
        var name = reference.TrimStart('/');
        if (containers.FirstOrDefault(c => c.Id == reference) is { } byId)
        {
            return byId;
        }

        if (containers.FirstOrDefault(c => c.Name == name) is { } byName)
        {
            return byName;
        }

        var prefixed = reference.Length == 0 ? [] : containers.Where(c => c.Id.StartsWith(reference, StringComparison.Ordinal)).ToList();
        return prefixed.Count switch
        {
            0 => null,
            1 => prefixed[0],
            _ => throw new SwarmCommandException(RejectCode.InvalidArgument, $"multiple containers found with provided prefix: {reference}"),
        };
    }

    private static Command Inspect(CliApp app)
    {
        var format = new Option<string?>("--format", "-f") { Description = "Format output using a Go template, such as '{{.State.Status}}'" }
            .CheckedBy(f => PerItem.InspectFormatError(f, ContainerView.InspectFields));
        var size = new Option<bool>("--size", "-s") { Description = "Display total file sizes (not kept here: ignored)" };
        var names = new Argument<string[]>("CONTAINER") { Description = "Container ids, unique id prefixes or names", Arity = ArgumentArity.OneOrMore };
        var command = new Command("inspect", "Display detailed information on one or more containers").With(format, size, names);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var list = await cli.RequestAsync<ContainerList>(new ListContainers(SwarmIds.NewRequestId(), All: true), Timeouts.Query, ct);
            var found = new List<ContainerObject>();
            var status = await PerItem.ForEachAsync(cli, parse.GetRequiredValue(names), reference =>
            {
                found.Add(Find(list.Containers, reference) ?? throw new SwarmCommandException(RejectCode.NotFound, $"No such container: {reference}"));
                return Task.CompletedTask;
            });
            if (found.Count > 0 || parse.GetValue(format) is null)
            {
                await cli.Out.WriteAsync(PerItem.Inspected(found, ContainerView.Inspect, parse.GetValue(format)));
            }

            return status;
        });
        return command;
    }

    private static Command Stats(CliApp app)
    {
        var all = new Option<bool>("--all", "-a") { Description = "Show all containers (default shows just running)" };
        var noStream = new Option<bool>("--no-stream") { Description = "Disable streaming stats and only pull the first result" };
        var noTrunc = new Option<bool>("--no-trunc") { Description = "Do not truncate output" };
        var format = new Option<string?>("--format")
        {
            Description = "Format output: table (default), json, or a Go template such as '{{.Name}} {{.CPUPerc}}'",
        }.CheckedBy(v => ListingFormat.Check(v, ContainerView.StatsColumns.Keys.ToList()));
        var names = new Argument<string[]>("CONTAINER") { Description = "Containers to show (ids, prefixes or names); all running ones when left out", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("stats", "Display a live stream of this node's container resource usage statistics").With(all, noStream, noTrunc, format, names);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var listing = ListingFormat.Parse(parse.GetValue(format), quiet: false, ContainerView.StatsColumns.Keys.ToList(), out _)!;
            var wanted = parse.GetValue(names) ?? [];
            var everyState = parse.GetValue(all) || wanted.Length > 0;
            var previous = await cli.RequestAsync<ContainerList>(new ListContainers(SwarmIds.NewRequestId(), everyState, Usage: true), Timeouts.Query, ct);
            var chosen = new List<(string Given, string Id)>();
            foreach (var reference in wanted)
            {
                var found = Find(previous.Containers, reference);
                if (found is null)
                {
                    await cli.Error.WriteLineAsync($"Error: No such container: {reference}");
                    return 1;
                }

                chosen.Add((reference, found.Id));
            }

            var clear = cli.OutIsTerminal;
            while (true)
            {
                await Task.Delay(app.StatsInterval, ct);
                var current = await cli.RequestAsync<ContainerList>(new ListContainers(SwarmIds.NewRequestId(), everyState, Usage: true), Timeouts.Query, ct);
                var rows = StatsRows(previous, current, chosen, parse.GetValue(noTrunc));
                var text = listing.Render([.. rows.Select(ContainerView.StatsJson)], () => ContainerView.StatsTable(rows), ContainerView.StatsColumns);
                await cli.Out.WriteAsync(clear && !parse.GetValue(noStream) ? "\u001b[2J\u001b[H" + text : text);
                await cli.Out.FlushAsync(ct);
                if (parse.GetValue(noStream))
                {
                    return 0;
                }

                previous = current;
            }
        });
        return command;
    }

    /// <summary>docker's prompt of `container prune`; only "y" or "yes" goes on.</summary>
    public const string PruneWarning =
        "WARNING! This will remove all stopped containers.\n" +
        "Are you sure you want to continue? [y/N] ";

    /// <summary>
    /// `container prune [-f] [--filter until=|label=|label!=]`: every standalone container that is not running (created or
    /// exited) and that the filters keep is removed by the node, which checks again that it is still so; a task's container
    /// never is (the swarm removes those with their tasks). Docker's report: the ids under "Deleted Containers:", then the
    /// space their writable layers gave back.
    /// </summary>
    private static Command Prune(CliApp app)
    {
        var force = new Option<bool>("--force", "-f") { Description = "Do not prompt for confirmation" };
        var filter = PruneFilters.Option();
        var command = new Command("prune", "Remove all stopped standalone containers").With(force, filter);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var filters = parse.GetValue(filter) ?? [];
            var (exit, until) = await PruneFilters.BeginAsync(app, cli, filters, parse.GetValue(force), PruneWarning, ct);
            if (exit is { } code)
            {
                return code;
            }

            var (report, reclaimed) = await PruneAsync(cli, filters, until, ct);
            await cli.Out.WriteAsync(report);
            await cli.Out.WriteLineAsync($"Total reclaimed space: {ImageView.HumanSize(reclaimed)}");
            return 0;
        });
        return command;
    }

    /// <summary>`container prune`'s work once asked (also `system prune`'s first step): docker's "Deleted Containers:" part of the report, and the bytes reclaimed.</summary>
    public static async Task<(string Report, long Reclaimed)> PruneAsync(CliContext cli, IReadOnlyCollection<string> filters, DateTimeOffset? until, CancellationToken ct)
    {
        var list = await cli.RequestAsync<ContainerList>(new ListContainers(SwarmIds.NewRequestId(), All: true), Timeouts.Query, ct);
        var candidates = PruneCandidates(list.Containers, filters, until);
        var pruned = candidates.Count == 0
            ? new ContainersPruned([], 0)
            : await cli.RequestAsync<ContainersPruned>(new PruneContainers(SwarmIds.NewRequestId(), [.. candidates.Select(c => c.Id)]), Timeouts.Change, ct);
        var report = pruned.Deleted.Length > 0 ? "Deleted Containers:\n" + string.Concat(pruned.Deleted.Select(d => d + "\n")) + "\n" : string.Empty;
        return (report, pruned.SpaceReclaimed);
    }

    /// <summary>
    /// The containers `container prune` asks the node to remove, as docker's daemon chooses them: standalone ones (no task's) that
    /// are not running (created, exited or dead), created at or before until, carrying every label= term and not every label!= term.
    /// <paramref name="until"/> is <see cref="PruneFilters.UntilOf"/>'s.
    /// </summary>
    public static IReadOnlyList<ContainerObject> PruneCandidates(IEnumerable<ContainerObject> containers, IReadOnlyCollection<string> filters, DateTimeOffset? until)
    {
        var kept = PruneFilters.Matcher(filters, until);
        return [.. ContainerView.Sorted(containers.Where(c =>
            c.State is "created" or "exited" or "dead" && !c.Labels.ContainsKey("com.docker.swarm.task") && kept(c.Labels, c.Created)))];
    }

    /// <summary>
    /// `port CONTAINER [PRIVATE_PORT[/PROTO]]`: the container's published ports as the node bound them (the ports `ps` and
    /// inspect's NetworkSettings.Ports show), "80/tcp -> 0.0.0.0:8080" a line, in docker's order; with a port, only the
    /// node's addresses for it, and docker's error when it is not published.
    /// </summary>
    public static Command Port(CliApp app)
    {
        var name = new Argument<string>("CONTAINER") { Description = "A container id, unique id prefix or name" };
        var privatePort = new Argument<string?>("PRIVATE_PORT[/PROTO]") { Description = "A port of the container (tcp unless /udp or /sctp follows)", Arity = ArgumentArity.ZeroOrOne }
            .CheckedBy(p => PrivatePort(p).Error);
        var command = new Command("port", "List port mappings or a specific mapping for the container").With(name, privatePort);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var reference = parse.GetRequiredValue(name);
            var list = await cli.RequestAsync<ContainerList>(new ListContainers(SwarmIds.NewRequestId(), All: true), Timeouts.Query, ct);
            var container = Find(list.Containers, reference) ?? throw new SwarmCommandException(RejectCode.NotFound, $"No such container: {reference}");
            var lines = PortLines(container, parse.GetValue(privatePort));
            if (lines is null)
            {
                throw new SwarmCommandException(RejectCode.NotFound, $"No public port '{parse.GetValue(privatePort)}' published for {reference}");
            }

            await cli.Out.WriteAsync(string.Concat(lines.Select(l => l + "\n")));
            return 0;
        });
        return command;
    }

    /// <summary>
    /// `port`'s lines for <paramref name="container"/>: every binding ("80/tcp -> 0.0.0.0:8080") ordered by port, protocol and
    /// host port as docker's natural order puts them; with <paramref name="privatePort"/>, only that port's host addresses, or
    /// null when it is not published.
    /// </summary>
    public static IReadOnlyList<string>? PortLines(ContainerObject container, string? privatePort)
    {
        var bindings = ContainerView.Published(container).OrderBy(b => b.Port.TargetPort).ThenBy(b => b.Private, StringComparer.Ordinal)
            .ThenBy(b => b.Port.PublishedPort).ToList();
        if (privatePort is null)
        {
            return [.. bindings.Select(b => $"{b.Private} -> {b.Host}")];
        }

        var wanted = PrivatePort(privatePort).Value;
        var matching = bindings.Where(b => b.Private == wanted).Select(b => b.Host).ToList();
        return matching.Count == 0 ? null : matching;
    }

    /// <summary>`port`'s PRIVATE_PORT[/PROTO] as docker reads it: a port number, tcp when no protocol follows ("80" is "80/tcp").</summary>
    public static Checked<string> PrivatePort(string text)
    {
        var parts = text.Split('/', 2);
        var protocol = parts.Length == 2 ? parts[1].ToLowerInvariant() : "tcp";
        if (!ushort.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port == 0)
        {
            return Checked<string>.Fail($"invalid port ({parts[0]}): give a port number of the container (1-65535), optionally with /tcp, /udp or /sctp, such as 80/tcp");
        }

        return protocol is "tcp" or "udp" or "sctp"
            ? Checked<string>.Ok(string.Create(CultureInfo.InvariantCulture, $"{port}/{protocol}"))
            : Checked<string>.Fail($"invalid protocol ({parts[1]}) in '{text}': give tcp, udp or sctp, such as 53/udp");
    }

    /// <summary>
    /// The lines of one `stats` refresh: the containers asked for, in the order given, or every one listed (newest first);
    /// CPU % over the time between the two readings.
    /// </summary>
    public static List<StatsRow> StatsRows(ContainerList previous, ContainerList current, IReadOnlyList<(string Given, string Id)> chosen, bool noTrunc)
    {
        var before = previous.Containers.ToDictionary(c => c.Id, c => c.Usage, StringComparer.Ordinal);
        var elapsed = current.SampledAt - previous.SampledAt;
        IEnumerable<(string Given, ContainerObject Container)> shown = chosen.Count > 0
            ? chosen.Select(c => (c.Given, current.Containers.FirstOrDefault(x => x.Id == c.Id)))
                .Where(c => c.Item2 is not null).Select(c => (c.Given, c.Item2!))
            : ContainerView.Sorted(current.Containers).Select(c => (ContainerView.ShortId(c.Id, noTrunc), c));
        return [.. shown.Select(s => ContainerView.Stats(s.Container, before.GetValueOrDefault(s.Container.Id), elapsed, s.Given, noTrunc))];
    }
}
