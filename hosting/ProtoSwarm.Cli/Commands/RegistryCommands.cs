using System.CommandLine;
using ProtoSwarm.Cli.Output;

namespace ProtoSwarm.Cli.Commands;

/// <summary>
/// `protoswarm registry token|ls`: the swarm's own registry, served by every manager. Pushing and pulling
/// from a node are `image push|pull`; these commands are for operators and outside tools.
/// </summary>
internal static class RegistryCommands
{
    public static Command Create(CliApp app) =>
        new Command("registry", "Manage the swarm's registry").With(Token(app), List(app));

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
}
