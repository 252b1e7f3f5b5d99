using System.Collections.Immutable;
using System.CommandLine;
using ProtoSwarm.Cli.Output;
using ProtoSwarm.Client;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Commands;

/// <summary>
/// `protoswarm volume create|ls|inspect|rm`: the volumes of the node this CLI talks to (docker's local
/// driver: a volume belongs to one node), with docker's flags and output. The node answers them
/// itself, in a swarm or not.
/// </summary>
internal static class VolumeCommands
{
    public static Command Create(CliApp app) =>
        new Command("volume", "Manage volumes on this node").With(CreateVolume(app), List(app), Inspect(app), Remove(app));

    private static Command CreateVolume(CliApp app)
    {
        var driver = new Option<string>("--driver", "-d") { Description = "Specify volume driver name", DefaultValueFactory = _ => "local" }
            .CheckedBy(d => d == "local" ? null : $"--driver '{d}' is not available; nodes have only the local driver.");
        var labels = new Option<string[]>("--label") { Description = "Set metadata for a volume (KEY=VALUE)", AllowMultipleArgumentsPerToken = false }
            .CheckedBy(l => l.Split('=', 2)[0].Length == 0 ? $"--label '{l}' has no name; write --label KEY=VALUE." : null);
        var options = new Option<string[]>("--opt", "-o") { Description = "Set driver specific options (not supported by the local driver here)" }
            .CheckedBy(o => $"--opt '{o}': the local driver here takes no options; leave --opt out.");
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

            var created = await cli.RequestAsync<VolumeCreated>(new CreateVolume(SwarmIds.NewRequestId(), parse.GetValue(name) ?? string.Empty, parse.GetValue(driver) ?? "local", map), Timeouts.Change, ct);
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
        var command = new Command("ls", "List volumes").With(quiet, format);
        command.Aliases.Add("list");
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var listing = ListingFormat.Parse(parse.GetValue(format), parse.GetValue(quiet), VolumeView.Columns.Keys.ToList(), out _)!;
            var list = await cli.RequestAsync<VolumeList>(new ListVolumes(SwarmIds.NewRequestId()), Timeouts.Query, ct);
            var volumes = VolumeView.Sorted(list.Volumes).ToList();
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
}
