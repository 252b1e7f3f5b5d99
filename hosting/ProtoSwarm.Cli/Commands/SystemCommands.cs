using System.CommandLine;
using System.Text.Json.Nodes;
using ProtoSwarm.Cli.Output;
using ProtoSwarm.Client;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Commands;

/// <summary>`protoswarm info`, `protoswarm version`, and docker's `system` group (`system info` and `system events`, the same as `info` and `events`, and `system prune`).</summary>
internal static class SystemCommands
{
    public static Command System(CliApp app)
    {
        var command = new Command("system", "Manage the node host");
        command.Subcommands.Add(Info(app));
        command.Subcommands.Add(EventsCommand.Create(app));
        command.Subcommands.Add(Df(app));
        command.Subcommands.Add(Prune(app));
        return command;
    }

    /// <summary>
    /// `system df [--format table|json|TEMPLATE]`: what this node's images, containers and local volumes take on its disk, and
    /// what pruning the unused ones would give back (docker's table; the node sums them, LocalDiskUsage). docker's `-v` (a
    /// table per kind) is not here: `image ls`, `ps -a` and `volume ls` list the items.
    /// </summary>
    private static Command Df(CliApp app)
    {
        var format = new Option<string?>("--format")
        {
            Description = "Format output: table (default), json, or a Go template such as '{{.Type}}: {{.Size}}'",
        }.CheckedBy(v => ListingFormat.Check(v, DiskUsageView.Columns.Keys.ToList()));
        var command = new Command("df", "Show the node's disk usage: images, containers, local volumes").With(format);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var listing = ListingFormat.Parse(parse.GetValue(format), false, DiskUsageView.Columns.Keys.ToList(), out _)!;
            var usage = await cli.RequestAsync<DiskUsage>(new GetDiskUsage(SwarmIds.NewRequestId()), Timeouts.Query, ct);
            await cli.Out.WriteAsync(listing.Render([.. usage.Rows.Select(DiskUsageView.ToJson)], () => DiskUsageView.Table(usage.Rows), DiskUsageView.Columns, idField: "Type"));
            return 0;
        });
        return command;
    }

    /// <summary>
    /// docker's `system prune` prompt: what will go, and the filters when there are any (docker/cli's confirmation template,
    /// without its "unused build cache" line: nothing builds images here).
    /// </summary>
    public static string PruneWarning(bool all, bool volumes, IReadOnlyCollection<string> filters)
    {
        List<string> warnings = ["all stopped containers", "all networks not used by at least one container"];
        if (volumes)
        {
            warnings.Add("all anonymous volumes not used by at least one container");
        }

        warnings.Add(all ? "all images without at least one container associated to them" : "all dangling images");
        var text = "WARNING! This will remove:" + string.Concat(warnings.Select(w => $"\n  - {w}")) + "\n";
        if (filters.Count > 0)
        {
            text += "\n  Items to be pruned will be filtered with:" + string.Concat(filters.Select(f => $"\n  - {f}")) + "\n";
        }

        return text + "\nAre you sure you want to continue? [y/N] ";
    }

    /// <summary>
    /// `system prune [-a] [-f] [--volumes] [--filter until=|label=|label!=]`, as docker's: `container prune`, `network prune`,
    /// with --volumes `volume prune` (anonymous volumes), then `image prune` (-a: every unused image), one prompt for all, each
    /// part's report in that order and the space reclaimed by all. Networks are the swarm's, pruned from a manager only: on a
    /// worker, or a node in no swarm, there is no network of its own to prune (bridge, host and none never are), so that part
    /// is skipped without a word, as docker's prunes only local networks there.
    /// </summary>
    private static Command Prune(CliApp app)
    {
        var all = new Option<bool>("--all", "-a") { Description = "Remove all unused images not just dangling ones" };
        var force = new Option<bool>("--force", "-f") { Description = "Do not prompt for confirmation" };
        var volumes = new Option<bool>("--volumes") { Description = "Prune anonymous volumes" };
        var filter = PruneFilters.Option();
        var command = new Command("prune", "Remove unused data").With(all, force, volumes, filter);
        command.Validators.Add(result =>
        {
            // docker's own refusal: volumes have no creation time to filter on.
            if (result.GetValue(volumes) && (result.GetValue(filter) ?? []).Any(f => f.Split('=', 2)[0].Trim() == "until"))
            {
                result.AddError("--filter until= cannot be used with --volumes (volumes have no creation time to filter by); prune volumes apart with `volume prune`.");
            }
        });
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var filters = parse.GetValue(filter) ?? [];
            var everything = parse.GetValue(all);
            var withVolumes = parse.GetValue(volumes);
            var (exit, until) = await PruneFilters.BeginAsync(app, cli, filters, parse.GetValue(force), PruneWarning(everything, withVolumes, filters), ct);
            if (exit is { } code)
            {
                return code;
            }

            var (containers, reclaimed) = await ContainerCommands.PruneAsync(cli, filters, until, ct);
            await cli.Out.WriteAsync(containers);
            try
            {
                await cli.Out.WriteAsync(await NetworkCommands.PruneAsync(cli, filters, until, ct));
            }
            catch (SwarmCommandException e) when (e.Code is RejectCode.NotManager or RejectCode.NotInSwarm)
            {
                // No swarm network can be pruned from here, and the node has none of its own to prune.
            }

            if (withVolumes)
            {
                var (report, bytes) = await VolumeCommands.PruneAsync(cli, all: false, filters, ct);
                await cli.Out.WriteAsync(report);
                reclaimed += bytes;
            }

            var (images, imageBytes) = await ImageCommands.PruneAsync(cli, filters, until, everything, ct);
            await cli.Out.WriteAsync(images);
            await cli.Out.WriteLineAsync($"Total reclaimed space: {ImageView.HumanSize(reclaimed + imageBytes)}");
            return 0;
        });
        return command;
    }

    public static Command Info(CliApp app)
    {
        var format = FormatOption(SystemView.InfoFields, "'{{.Swarm.LocalNodeState}}'");
        var command = new Command("info", "Display system-wide information").With(format);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var info = await cli.InfoAsync(ct);
            await cli.Out.WriteAsync(Formatted(parse.GetValue(format), SystemView.InfoJson(info)) ?? SystemView.Info(info));
            return 0;
        });
        return command;
    }

    public static Command Version(CliApp app)
    {
        var format = FormatOption(SystemView.VersionFields, "'{{.Server.Version}}'");
        var command = new Command("version", "Show the protoswarm version information").With(format);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var client = ClientVersion.Current;
            var formatText = parse.GetValue(format);
            VersionInfo? server = null;
            SwarmCommandException? failure = null;
            try
            {
                server = await cli.RequestAsync<VersionInfo>(new GetVersion(SwarmIds.NewRequestId()), Timeouts.Query, ct);
            }
            catch (SwarmCommandException e)
            {
                // Like docker: the client's half is worth printing even when the node cannot answer.
                failure = e;
            }

            var text = Formatted(formatText, SystemView.VersionJson(client, server))
                       ?? SystemView.ClientPart(client) + (server is null ? string.Empty : SystemView.ServerPart(server));
            await cli.Out.WriteAsync(text);
            if (failure is not null)
            {
                await cli.Error.WriteLineAsync($"Error: {failure.Message}");
                return 1;
            }

            return 0;
        });
        return command;
    }

    private static Option<string?> FormatOption(IReadOnlyCollection<string> fields, string example) =>
        new Option<string?>("--format", "-f")
        {
            Description = $"Format output: json, or a Go template such as {example}",
        }.CheckedBy(v => CheckFormat(v, fields));

    private static string? CheckFormat(string format, IReadOnlyCollection<string> fields)
    {
        if (format.Trim() == "json")
        {
            return null;
        }

        return GoTemplate.LooksLikeTemplate(format)
            ? PerItem.InspectFormatError(format, fields)
            : $"--format '{format}' is not a format; use json or a Go template such as '{{{{json .}}}}'.";
    }

    /// <summary>The text for --format, or null for the default layout.</summary>
    private static string? Formatted(string? format, JsonObject data) => format?.Trim() switch
    {
        null or "" => null,
        "json" => Json.Line(data) + "\n",
        _ => GoTemplate.Parse(format).Execute(data) + "\n",
    };
}
