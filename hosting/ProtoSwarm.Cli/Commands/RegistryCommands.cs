using System.CommandLine;
using ProtoSwarm.Cli.Output;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Commands;

/// <summary>
/// `protoswarm registry token|ls|gc`: the swarm's own registry, served by every manager. Pushing and pulling
/// from a node are `image push|pull`; these commands are for operators and outside tools.
/// </summary>
internal static class RegistryCommands
{
    public static Command Create(CliApp app) =>
        new Command("registry", "Manage the swarm's registry").With(Token(app), List(app), GarbageCollect(app));

    /// <summary>Unlinks, sweeps and reports; long on a large registry, so it waits as long as a push may.</summary>
    private static readonly TimeSpan GcTimeout = TimeSpan.FromMinutes(10);

    private static Command Token(CliApp app)
    {
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Only display token" };
        var rotate = new Option<bool>("--rotate") { Description = "Rotate the token (the old one is no longer accepted)" };
        var role = new Argument<string>("(pull|push)") { Description = "The access the token gives: pull (read only) or push (read and write)" }
            .CheckedBy(v => v is "pull" or "push" ? null : $"'{v}' is not a registry role; use pull or push.");
        var command = new Command("token", "Show or rotate the password of the registry's plain listener, for tools such as skopeo").With(quiet, rotate, role);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var rotating = parse.GetValue(rotate);
            var token = await cli.Swarm.Registry.TokenAsync(parse.GetRequiredValue(role), rotating, ct);
            await cli.Out.WriteAsync(parse.GetValue(quiet) ? token.Token + "\n" : RegistryView.TokenUsage(token, rotating));
            return 0;
        });
        return command;
    }

    private static Command List(CliApp app)
    {
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Only display repository names" };
        var format = new Option<string?>("--format")
        {
            Description = "Format output: table (default), json, or a Go template such as '{{.Repository}}\\t{{.Tags}}'",
        }.CheckedBy(v => ListingFormat.Check(v, RegistryView.Columns.Keys.ToList()));
        var command = new Command("ls", "List the registry's repositories").With(quiet, format);
        command.Aliases.Add("list");
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var listing = ListingFormat.Parse(parse.GetValue(format), parse.GetValue(quiet), RegistryView.Columns.Keys.ToList(), out _)!;
            var repositories = (await cli.Swarm.Registry.ListAsync(ct)).OrderBy(r => r.Name, StringComparer.Ordinal).ToList();
            await cli.Out.WriteAsync(listing.Render([.. repositories.Select(RegistryView.ToJson)], () => RegistryView.Table(repositories), RegistryView.Columns, idField: "Repository"));
            return 0;
        });
        return command;
    }

    private static Command GarbageCollect(CliApp app)
    {
        var dryRun = new Option<bool>("--dry-run", "-d") { Description = "Do everything except remove anything: print what would be removed" };
        var deleteUntagged = new Option<bool>("--delete-untagged", "-m") { Description = "Delete manifests that are not currently referenced via tag" };
        var grace = new Option<string>("--grace")
        {
            Description = "Leave alone what was linked, pushed or written this recently, so pushes under way are safe (ns|us|ms|s|m|h)",
            DefaultValueFactory = _ => "1h",
        }.CheckedBy(v => ArgumentRules.Duration("--grace", v).Error);
        var command = new Command("gc", "Remove blobs no manifest references from the registry and from this manager's disk (online)").With(dryRun, deleteUntagged, grace);
        command.Aliases.Add("garbage-collect");
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var request = new CollectRegistryGarbage(SwarmIds.NewRequestId(), parse.GetValue(dryRun), parse.GetValue(deleteUntagged),
                ArgumentRules.Duration("--grace", parse.GetValue(grace)!).Value);
            var collected = await cli.RequestAsync<RegistryGarbageCollected>(request, GcTimeout, ct);
            await cli.Out.WriteAsync(RegistryView.GarbageReport(collected));
            return 0;
        });
        return command;
    }
}
