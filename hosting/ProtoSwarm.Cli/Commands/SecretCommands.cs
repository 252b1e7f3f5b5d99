using System.Collections.Immutable;
using System.CommandLine;
using ProtoSwarm.Cli.Output;
using ProtoSwarm.Client;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Commands;

/// <summary>`protoswarm secret create|ls|inspect|rm`: docker's secrets, kept by the managers; their data is never shown again.</summary>
internal static class SecretCommands
{
    public static Command Create(CliApp app) => FileObjectCommands.Create(app, new FileObjectKind(
        "secret",
        "Manage swarm secrets",
        (cli, name, labels, data, templating, ct) => cli.Swarm.Secrets.CreateAsync(new SecretSpec(name, labels, data) { Templating = templating }, ct: ct),
        async (cli, ct) => [.. (await cli.Swarm.Secrets.ListAsync(ct)).Select(FileObjectView.Of)],
        async (cli, reference, ct) => FileObjectView.Of(await cli.Swarm.Secrets.InspectAsync(reference, ct)),
        (cli, reference, ct) => cli.Swarm.Secrets.RemoveAsync(reference, ct)));
}

/// <summary>What differs between `secret` and `config`: the word and the client's calls (a config's inspect answer carries its data).</summary>
internal sealed record FileObjectKind(
    string Name,
    string Description,
    Func<CliContext, string, ImmutableSortedDictionary<string, string>, byte[], string?, CancellationToken, Task<string>> CreateAsync,
    Func<CliContext, CancellationToken, Task<List<FileObjectView>>> ListAsync,
    Func<CliContext, string, CancellationToken, Task<FileObjectView>> InspectAsync,
    Func<CliContext, string, CancellationToken, Task<string>> RemoveAsync);

/// <summary>The commands `secret` and `config` share: create from a file or stdin, ls, inspect, rm.</summary>
internal static class FileObjectCommands
{
    public static readonly ImmutableArray<string> FilterKeys = ["id", "name", "label"];

    public static Command Create(CliApp app, FileObjectKind kind) =>
        new Command(kind.Name, kind.Description).With(CreateCommand(app, kind), List(app, kind), Inspect(app, kind), Remove(app, kind));

    private static Command CreateCommand(CliApp app, FileObjectKind kind)
    {
        var labels = new Option<string[]>("--label", "-l") { Description = $"{Title(kind)} labels (KEY=VALUE)", DefaultValueFactory = _ => [] }
            .CheckedBy(l => l.Split('=', 2)[0].Trim().Length == 0 ? $"--label '{l}' has no name; write --label KEY=VALUE." : null);
        var templateDriver = new Option<string?>("--template-driver") { Description = "Template driver: golang expands {{ .Service.Name }}, {{ env \"VAR\" }}... for each task" }
            .CheckedBy(driver => TemplateDriverError(kind.Name, driver));
        var name = new Argument<string>(kind.Name.ToUpperInvariant()) { Description = $"The {kind.Name}'s name" };
        var file = new Argument<string>("file") { Description = $"The file holding the {kind.Name}'s content, or - to read it from stdin" };
        var command = new Command("create", $"Create a {kind.Name} from a file or STDIN as content").With(labels, templateDriver, name, file);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var data = await ReadDataAsync(app, kind.Name, parse.GetRequiredValue(file), ct);
            var id = await kind.CreateAsync(cli, parse.GetRequiredValue(name), Pairs(parse.GetValue(labels)), data, Driver(parse.GetValue(templateDriver)), ct);
            await cli.Out.WriteLineAsync(id);
            return 0;
        });
        return command;
    }

    private static Command List(CliApp app, FileObjectKind kind)
    {
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Only display IDs" };
        var format = new Option<string?>("--format")
        {
            Description = "Format output: table (default), json, or a Go template such as '{{.ID}}\\t{{.Name}}'",
        }.CheckedBy(v => ListingFormat.Check(v, SecretView.Columns.Keys.ToList()));
        var filter = new Option<string[]>("--filter", "-f")
        {
            Description = $"Filter output based on conditions provided ({string.Join(", ", FilterKeys)})",
            DefaultValueFactory = _ => [],
        }.CheckedBy(CheckFilter);
        var command = new Command("ls", $"List {kind.Name}s").With(quiet, format, filter);
        command.Aliases.Add("list");
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var listing = ListingFormat.Parse(parse.GetValue(format), parse.GetValue(quiet), SecretView.Columns.Keys.ToList(), out _)!;
            var terms = (parse.GetValue(filter) ?? []).Select(f => f.Split('=', 2)).ToLookup(p => p[0].Trim(), p => p[1], StringComparer.Ordinal);
            var now = DateTimeOffset.UtcNow;
            var items = SecretView.Sorted((await kind.ListAsync(cli, ct)).Where(i => Matches(i, terms))).ToList();
            await cli.Out.WriteAsync(listing.Render([.. items.Select(i => SecretView.ToJson(i, now))], () => SecretView.Table(items, now, driverColumn: kind.Name == "secret"), SecretView.Columns));
            return 0;
        });
        return command;
    }

    private static Command Inspect(CliApp app, FileObjectKind kind)
    {
        var pretty = new Option<bool>("--pretty") { Description = "Print the information in a human friendly format" };
        var format = new Option<string?>("--format", "-f") { Description = "Format output using a Go template, such as '{{.Spec.Name}}'" }
            .CheckedBy(f => PerItem.InspectFormatError(f, SecretView.InspectFields));
        var names = new Argument<string[]>(kind.Name.ToUpperInvariant()) { Description = $"{Title(kind)} names or ids", Arity = ArgumentArity.OneOrMore };
        var command = new Command("inspect", $"Display detailed information on one or more {kind.Name}s").With(pretty, format, names);
        command.Validators.Add(result =>
        {
            if (result.GetValue(pretty) && result.GetValue(format) is not null)
            {
                result.AddError("--format cannot be combined with --pretty, which has a format of its own.");
            }
        });
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var found = new List<FileObjectView>();
            var status = await PerItem.ForEachAsync(cli, parse.GetRequiredValue(names), async reference => found.Add(await kind.InspectAsync(cli, reference, ct)));
            await cli.Out.WriteAsync(parse.GetValue(pretty)
                ? string.Join("\n", found.Select(SecretView.Pretty))
                : PerItem.Inspected(found, SecretView.Inspect, parse.GetValue(format)));
            return status;
        });
        return command;
    }

    private static Command Remove(CliApp app, FileObjectKind kind)
    {
        var names = new Argument<string[]>(kind.Name.ToUpperInvariant()) { Description = $"{Title(kind)} names or ids", Arity = ArgumentArity.OneOrMore };
        var command = new Command("rm", $"Remove one or more {kind.Name}s").With(names);
        command.Aliases.Add("remove");
        app.SetAction(command, (parse, cli, ct) => PerItem.ForEachAsync(cli, parse.GetRequiredValue(names), async reference =>
        {
            await kind.RemoveAsync(cli, reference, ct);
            await cli.Out.WriteLineAsync(reference);
        }));
        return command;
    }

    /// <summary>
    /// The content from the file, or from stdin for "-"; a file that is missing, a directory,
    /// unreadable, empty or over 500 KiB is refused here, before anything is sent.
    /// </summary>
    public static async Task<byte[]> ReadDataAsync(CliApp app, string kind, string path, CancellationToken ct)
    {
        byte[] data;
        if (path == "-")
        {
            await using var input = app.StandardInput();
            data = await ReadAtMostAsync(input, ct);
        }
        else
        {
            var full = Path.GetFullPath(path);
            if (Directory.Exists(full))
            {
                // docker's words ("error reading from /tmp: read /tmp: is a directory"): the path exists, so "does not exist" would mislead.
                throw new SwarmCommandException(RejectCode.InvalidArgument,
                    $"error reading from {path}: read {path}: is a directory; give the path of the file holding the {kind}, or - to read it from stdin.");
            }

            if (!File.Exists(full))
            {
                throw new SwarmCommandException(RejectCode.InvalidArgument,
                    $"{kind} file '{path}' does not exist (looked for {full}); give the path of the file holding the {kind}, or - to read it from stdin.");
            }

            try
            {
                await using var input = File.OpenRead(full);
                data = await ReadAtMostAsync(input, ct);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new SwarmCommandException(RejectCode.InvalidArgument, $"error reading from {path}: {e.Message.TrimEnd('.')}.");
            }
        }

        return data.Length is > 0 and <= SecretSpec.MaxDataBytes
            ? data
            : throw new SwarmCommandException(RejectCode.InvalidArgument,
                $"{kind} data must be larger than 0 and less than 500 KiB: {(path == "-" ? "stdin" : path)} holds {(data.Length > SecretSpec.MaxDataBytes ? "more than " + SecretSpec.MaxDataBytes : "0")} bytes.");
    }

    /// <summary>
    /// docker's --template-driver golang has each task's node expand {{ .Service.Name }}, {{ .Task.Slot }},
    /// {{ env "VAR" }}... in the data for that task; no other driver exists, so another is refused here,
    /// before anything is read or sent. An empty value is docker's "no driver".
    /// </summary>
    public static string? TemplateDriverError(string kind, string driver) => TemplateDrivers.Problem(kind, Driver(driver)) is { } problem
        ? $"--template-driver {driver}: {problem}."
        : null;

    /// <summary>The driver a --template-driver value names: null for none (absent or empty).</summary>
    public static string? Driver(string? value) => value is null || value.Trim().Length == 0 ? null : value.Trim();

    /// <summary>Why a --filter cannot be used, or null: key=value with id, name or label.</summary>
    public static string? CheckFilter(string filter) => ServiceFilter.Check(filter, FilterKeys);

    /// <summary>docker's rules: id and name match a prefix, label a key or key=value; values of one key are alternatives.</summary>
    public static bool Matches(FileObjectView item, ILookup<string, string> terms) => terms.All(term => term.Any(value => term.Key switch
    {
        "id" => item.Id.StartsWith(value, StringComparison.Ordinal),
        "name" => item.Name.StartsWith(value, StringComparison.Ordinal),
        "label" => value.IndexOf('=', StringComparison.Ordinal) is var eq and >= 0
            ? item.Labels.TryGetValue(value[..eq], out var v) && v == value[(eq + 1)..]
            : item.Labels.ContainsKey(value),
        _ => false,
    }));

    private static async Task<byte[]> ReadAtMostAsync(Stream input, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await input.ReadAsync(chunk, ct)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > SecretSpec.MaxDataBytes)
            {
                break;
            }
        }

        return buffer.ToArray();
    }

    private static ImmutableSortedDictionary<string, string> Pairs(string[]? pairs)
    {
        var map = ImmutableSortedDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal);
        foreach (var pair in pairs ?? [])
        {
            var parts = pair.Split('=', 2);
            map = map.SetItem(parts[0], parts.Length > 1 ? parts[1] : string.Empty);
        }

        return map;
    }

    private static string Title(FileObjectKind kind) => char.ToUpperInvariant(kind.Name[0]) + kind.Name[1..];
}
