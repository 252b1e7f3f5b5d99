using System.CommandLine;
using System.Text.Json.Nodes;
using ProtoSwarm.Cli.Output;
using ProtoSwarm.Client;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Commands;

/// <summary>`protoswarm info`, `protoswarm version`, and docker's `system` group (`system info` and `system events`, the same as `info` and `events`).</summary>
internal static class SystemCommands
{
    public static Command System(CliApp app)
    {
        var command = new Command("system", "Manage the node host");
        command.Subcommands.Add(Info(app));
        command.Subcommands.Add(EventsCommand.Create(app));
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
