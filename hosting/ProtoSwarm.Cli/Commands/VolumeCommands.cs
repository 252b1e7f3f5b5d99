using System.Collections.Immutable;
using System.CommandLine;
using ProtoSwarm.Cli.Output;
using ProtoSwarm.Client;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Commands;

/// <summary>
/// `protoswarm volume create|ls|inspect|rm|prune`: the volumes of the node this CLI talks to (docker's local
/// driver: a volume belongs to one node), with docker's flags and output. The node answers them
/// itself, in a swarm or not.
/// </summary>
internal static class VolumeCommands
{
    public static Command Create(CliApp app) =>
        new Command("volume", "Manage volumes on this node").With(CreateVolume(app), List(app), Inspect(app), Remove(app), Prune(app));

    /// <summary>docker's `volume ls --filter` keys.</summary>
    public static readonly ImmutableArray<string> FilterKeys = ["dangling", "driver", "label", "name"];

    public static string? CheckFilter(string filter) => ServiceFilter.Check(filter, FilterKeys, (key, value) => key switch
    {
        "dangling" when value is not ("true" or "false" or "1" or "0") => "dangling must be true or false",
        _ => null,
    });

    /// <summary>
    /// docker's matching: values of one key are alternatives, keys combine; dangling is "used by no container",
    /// name matches part of the name (docker's is a regular expression, taken as one here too), label a key or key=value.
    /// </summary>
    public static bool Matches(VolumeObject volume, IEnumerable<string> filters) =>
        filters.Select(f => f.Split('=', 2)).GroupBy(p => p[0].Trim(), p => p[1], StringComparer.Ordinal).All(term => term.Any(value => term.Key switch
        {
            "dangling" => volume.UsedBy.IsEmpty == value is "true" or "1",
            "driver" => volume.Driver == value,
            "label" => ServiceFilter.MatchesLabel(volume.Labels, value),
            "name" => NameMatches(volume.Name, value),
            _ => false,
        }));

    private static bool NameMatches(string name, string pattern)
    {
        try
        {
            return System.Text.RegularExpressions.Regex.IsMatch(name, pattern, System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException)
        {
            return name.Contains(pattern, StringComparison.Ordinal);
        }
    }

    private static Command CreateVolume(CliApp app)
    {
        var driver = new Option<string>("--driver", "-d") { Description = "Specify volume driver name", DefaultValueFactory = _ => "local" }
            .CheckedBy(d => d == "local" ? null : $"--driver '{d}' is not available; nodes have only the local driver.");
        var labels = new Option<string[]>("--label") { Description = "Set metadata for a volume (KEY=VALUE)", AllowMultipleArgumentsPerToken = false }
            .CheckedBy(l => l.Split('=', 2)[0].Length == 0 ? $"--label '{l}' has no name; write --label KEY=VALUE." : null);
        var options = new Option<string[]>("--opt", "-o") { Description = "Set driver specific options: type, device and o, as mount -t TYPE -o O DEVICE (e.g. -o type=tmpfs -o device=tmpfs -o o=size=100m)", AllowMultipleArgumentsPerToken = false }
            .CheckedBy(o => o.Split('=', 2) is [{ Length: > 0 }, _] ? null : $"--opt '{o}' is not KEY=VALUE; write e.g. --opt type=tmpfs.");
        var name = new Argument<string?>("VOLUME") { Description = "The volume's name; a random one when left out", Arity = ArgumentArity.ZeroOrOne }
            .CheckedBy(n => VolumeNames.Problem(n) is { } problem ? problem + "." : null);
        var command = new Command("create", "Create a volume").With(driver, labels, options, name);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var map = ImmutableSortedDictionary<string, string>.Empty;
            foreach (var label in parse.GetValue(labels) ?? [])
            {
                var parts = label.Split('=', 2);
                map = map.SetItem(parts[0], parts.Length > 1 ? parts[1] : string.Empty);
            }

            var opts = ImmutableSortedDictionary<string, string>.Empty;
            foreach (var option in parse.GetValue(options) ?? [])
            {
                var parts = option.Split('=', 2);
                opts = opts.SetItem(parts[0], parts[1]);
            }

            var created = await cli.RequestAsync<VolumeCreated>(
                new CreateVolume(SwarmIds.NewRequestId(), parse.GetValue(name) ?? string.Empty, parse.GetValue(driver) ?? "local", map, opts), Timeouts.Change, ct);
            await cli.Out.WriteLineAsync(created.Volume.Name);
            return 0;
        });
        return command;
    }

    private static Command List(CliApp app)
    {
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Only display volume names" };
        var format = new Option<string?>("--format")
        {
            Description = "Format output: table (default), json, or a Go template such as '{{.Name}}'",
        }.CheckedBy(v => ListingFormat.Check(v, VolumeView.Columns.Keys.ToList()));
        var filter = new Option<string[]>("--filter", "-f")
        {
            Description = $"Provide filter values ({string.Join(", ", FilterKeys)})",
            DefaultValueFactory = _ => [],
        }.CheckedBy(CheckFilter);
        var command = new Command("ls", "List volumes").With(quiet, format, filter);
        command.Aliases.Add("list");
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var listing = ListingFormat.Parse(parse.GetValue(format), parse.GetValue(quiet), VolumeView.Columns.Keys.ToList(), out _)!;
            var list = await cli.RequestAsync<VolumeList>(new ListVolumes(SwarmIds.NewRequestId()), Timeouts.Query, ct);
            var filters = parse.GetValue(filter) ?? [];
            var volumes = VolumeView.Sorted(list.Volumes.Where(v => Matches(v, filters))).ToList();
            await cli.Out.WriteAsync(listing.Render([.. volumes.Select(VolumeView.ToJson)], () => VolumeView.Table(volumes), VolumeView.Columns, idField: "Name"));
            return 0;
        });
        return command;
    }

    private static Command Inspect(CliApp app)
    {
        var format = new Option<string?>("--format", "-f") { Description = "Format output using a Go template, such as '{{.Mountpoint}}'" }
            .CheckedBy(f => PerItem.InspectFormatError(f, VolumeView.InspectFields));
        var volumes = new Argument<string[]>("VOLUME") { Description = "Volume names", Arity = ArgumentArity.OneOrMore };
        var command = new Command("inspect", "Display detailed information on one or more volumes").With(format, volumes);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var found = new List<VolumeObject>();
            var status = await PerItem.ForEachAsync(cli, parse.GetRequiredValue(volumes), async name =>
                found.Add((await cli.RequestAsync<VolumeDetails>(new InspectVolume(SwarmIds.NewRequestId(), name), Timeouts.Query, ct)).Volume));
            await cli.Out.WriteAsync(PerItem.Inspected(found, VolumeView.Inspect, parse.GetValue(format)));
            return status;
        });
        return command;
    }

    private static Command Remove(CliApp app)
    {
        var force = new Option<bool>("--force", "-f") { Description = "Do not fail on a volume that does not exist (a volume in use is never removed)" };
        var volumes = new Argument<string[]>("VOLUME") { Description = "Volume names", Arity = ArgumentArity.OneOrMore };
        var command = new Command("rm", "Remove one or more volumes").With(force, volumes);
        command.Aliases.Add("remove");
        app.SetAction(command, (parse, cli, ct) => PerItem.ForEachAsync(cli, parse.GetRequiredValue(volumes), async name =>
        {
            var removed = await cli.RequestAsync<VolumeRemoved>(new RemoveVolume(SwarmIds.NewRequestId(), name, parse.GetValue(force)), Timeouts.Change, ct);
            await cli.Out.WriteLineAsync(removed.Name);
        }));
        return command;
    }

    /// <summary>docker's prompt of `volume prune`, without and with --all.</summary>
    public static string PruneWarning(bool all) =>
        $"WARNING! This will remove {(all ? "all" : "anonymous")} local volumes not used by at least one container.\n" +
        "Are you sure you want to continue? [y/N] ";

    /// <summary>
    /// `volume prune [-a] [-f] [--filter label=...]`: as docker 23+, the unused anonymous volumes of this node, or with
    /// --all every unused one: without --all, those a standalone container left when `rm` removed it without -v (a task's
    /// go with it, as those of `rm -v` and `run --rm`). Each removal is the node's own check: a volume a container took meanwhile stays.
    /// </summary>
    private static Command Prune(CliApp app)
    {
        var all = new Option<bool>("--all", "-a") { Description = "Remove all unused volumes, not just anonymous ones" };
        var force = new Option<bool>("--force", "-f") { Description = "Do not prompt for confirmation" };
        var filter = new Option<string[]>("--filter")
        {
            Description = "Provide filter values (label=KEY or label=KEY=VALUE)",
            DefaultValueFactory = _ => [],
        }.CheckedBy(f => ServiceFilter.Check(f, ["label"]));
        var command = new Command("prune", "Remove unused local volumes").With(all, force, filter);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            if (!parse.GetValue(force))
            {
                using var input = new StreamReader(app.StandardInput(), leaveOpen: true);
                if (!await Confirmation.AskAsync(cli, input, PruneWarning(parse.GetValue(all)), ct))
                {
                    return 0;
                }
            }

            var (report, reclaimed) = await PruneAsync(cli, parse.GetValue(all), parse.GetValue(filter) ?? [], ct);
            await cli.Out.WriteAsync(report);
            await cli.Out.WriteLineAsync($"Total reclaimed space: {ImageView.HumanSize(reclaimed)}");
            return 0;
        });
        return command;
    }

    /// <summary>`volume prune`'s work once asked (also `system prune --volumes`'s step): docker's "Deleted Volumes:" part of the report, and the bytes reclaimed.</summary>
    public static async Task<(string Report, long Reclaimed)> PruneAsync(CliContext cli, bool all, IReadOnlyCollection<string> filters, CancellationToken ct)
    {
        var list = await cli.RequestAsync<VolumeList>(new ListVolumes(SwarmIds.NewRequestId()), Timeouts.Query, ct);
        var unused = VolumeView.Sorted(list.Volumes.Where(v => v.UsedBy.IsEmpty && (all || v.Anonymous) && Matches(v, filters))).ToList();
        var deleted = new List<string>();
        long reclaimed = 0;
        foreach (var volume in unused)
        {
            try
            {
                var removed = await cli.RequestAsync<VolumeRemoved>(new RemoveVolume(SwarmIds.NewRequestId(), volume.Name, Force: true), Timeouts.Change, ct);
                deleted.Add(removed.Name);
                reclaimed += removed.ReclaimedBytes;
            }
            catch (SwarmCommandException e) when (e.Code == RejectCode.Conflict)
            {
                // Taken by a container since the listing: not unused any more, as docker's prune skips it.
            }
        }

        return (deleted.Count > 0 ? "Deleted Volumes:\n" + string.Concat(deleted.Select(d => d + "\n")) + "\n" : string.Empty, reclaimed);
    }
}
