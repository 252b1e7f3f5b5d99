using System.CommandLine;
using ProtoSwarm.Cli.Output;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Commands;

/// <summary>`protoswarm config create|ls|inspect|rm`: docker's configs, as secrets but readable back (`config inspect` shows the data).</summary>
internal static class ConfigCommands
{
    public static Command Create(CliApp app) => FileObjectCommands.Create(app, new FileObjectKind(
        "config",
        "Manage swarm configs",
        (cli, name, labels, data, templating, ct) => cli.Swarm.Configs.CreateAsync(new ConfigSpec(name, labels, data) { Templating = templating }, ct: ct),
        async (cli, ct) => [.. (await cli.Swarm.Configs.ListAsync(ct)).Select(FileObjectView.Of)],
        async (cli, reference, ct) => FileObjectView.Of(await cli.Swarm.Configs.InspectAsync(reference, ct)),
        (cli, reference, ct) => cli.Swarm.Configs.RemoveAsync(reference, ct)));
}
