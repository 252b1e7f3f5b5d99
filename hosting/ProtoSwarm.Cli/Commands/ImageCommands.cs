using System.Collections.Immutable;
using System.CommandLine;
using ProtoSwarm.Cli.Output;
using ProtoSwarm.Client;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Commands;

/// <summary>
/// `protoswarm image load|save|import|ls|inspect|tag|rm|prune|push|pull`: the images of the node this CLI talks to,
/// with docker's flags and output. The node answers them itself, in a swarm or not; a file to load is
/// read, and an archive to save written, by the node at the path given here (both are on one machine);
/// standard input and output pass through a private temporary directory. `push` and `pull` move images
/// between the node and the swarm's own registry, which the managers serve.
/// </summary>
internal static class ImageCommands
{
    /// <summary>Loading unpacks every layer; a large image takes longer than a query.</summary>
    private static readonly TimeSpan LoadTimeout = TimeSpan.FromMinutes(10);

    public static Command Create(CliApp app) =>
        new Command("image", "Manage images on this node").With(Load(app), Save(app), Import(app), List(app), Inspect(app), Tag(app), Remove(app), Prune(app), Push(app), Pull(app));

    private static Command Load(CliApp app)
    {
        var input = new Option<string?>("--input", "-i") { Description = "Read from tar archive file (docker save or OCI image layout, plain or gzip), instead of STDIN" }
            .CheckedBy(CheckFile);
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Suppress the load output" };
        var command = new Command("load", "Load an image from a tar archive or STDIN, made by `docker save` or an OCI image layout").With(input, quiet);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            ImageLoaded loaded;
            if (parse.GetValue(input) is { } file)
            {
                loaded = await cli.RequestAsync<ImageLoaded>(new LoadImage(SwarmIds.NewRequestId(), Path.GetFullPath(file)), LoadTimeout, ct);
            }
            else if (app.ExecConsole.InputIsTerminal())
            {
                // docker's words when nothing is piped in.
                await cli.Error.WriteLineAsync("requested load from stdin, but stdin is empty");
                return 1;
            }
            else
            {
                // The node reads files, not streams: standard input goes to a private file first.
                var directory = Directory.CreateTempSubdirectory("protoswarm-load-");
                try
                {
                    var path = Path.Combine(directory.FullName, "image.tar");
                    await using (var stdin = app.StandardInput())
                    await using (var copy = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true))
                    {
                        await stdin.CopyToAsync(copy, ct);
                    }

                    if (new FileInfo(path).Length == 0)
                    {
                        await cli.Error.WriteLineAsync("requested load from stdin, but stdin is empty");
                        return 1;
                    }

                    loaded = await cli.RequestAsync<ImageLoaded>(new LoadImage(SwarmIds.NewRequestId(), path), LoadTimeout, ct);
                }
                finally
                {
                    directory.Delete(recursive: true);
                }
            }

            // -q hides docker's progress bars, which this load has none of; the "Loaded image" lines stay, as docker's.
            foreach (var image in loaded.Images)
            {
                if (image.RepoTags.IsDefaultOrEmpty)
                {
                    await cli.Out.WriteLineAsync($"Loaded image ID: {image.Id}");
                }

                foreach (var tag in image.RepoTags.IsDefault ? [] : image.RepoTags)
                {
                    await cli.Out.WriteLineAsync($"Loaded image: {tag}");
                }
            }

            return 0;
        });
        return command;
    }

    private static Command Save(CliApp app)
    {
        var output = new Option<string?>("--output", "-o") { Description = "Write to a file, instead of STDOUT" };
        var images = new Argument<string[]>("IMAGE") { Description = "Images to save: NAME:TAG, a repository (every tag of it), an id or a digest reference", Arity = ArgumentArity.OneOrMore };
        var command = new Command("save", "Save one or more images to a tar archive (streamed to STDOUT by default)").With(output, images);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var names = parse.GetRequiredValue(images).ToImmutableArray();
            if (parse.GetValue(output) is { } file)
            {
                await cli.RequestAsync<ImageSaved>(new SaveImage(SwarmIds.NewRequestId(), names, Path.GetFullPath(file)), LoadTimeout, ct);
                return 0;
            }

            if (app.ExecConsole.OutputIsTerminal())
            {
                // docker's words: an archive is no text for a terminal.
                await cli.Error.WriteLineAsync("cowardly refusing to save to a terminal. Use the -o flag or redirect");
                return 1;
            }

            var directory = Directory.CreateTempSubdirectory("protoswarm-save-");
            try
            {
                var path = Path.Combine(directory.FullName, "image.tar");
                await cli.RequestAsync<ImageSaved>(new SaveImage(SwarmIds.NewRequestId(), names, path), LoadTimeout, ct);
                await using var archive = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, useAsync: true);
                await using var stdout = app.ExecConsole.Output();
                await archive.CopyToAsync(stdout, ct);
                await stdout.FlushAsync(ct);
            }
            finally
            {
                directory.Delete(recursive: true);
            }

            return 0;
        });
        return command;
    }

    private static Command Import(CliApp app)
    {
        var file = new Argument<string>("FILE") { Description = "A root filesystem tar (plain or gzip)" }.CheckedBy(CheckFile);
        var name = new Argument<string?>("REPOSITORY[:TAG]") { Description = "The name to give the image", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("import", "Import the contents from a tarball to create a filesystem image").With(file, name);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var path = Path.GetFullPath(parse.GetRequiredValue(file));
            var imported = await cli.RequestAsync<ImageImported>(new ImportImage(SwarmIds.NewRequestId(), path, parse.GetValue(name) ?? string.Empty), LoadTimeout, ct);
            await cli.Out.WriteLineAsync(imported.Image.Id);
            return 0;
        });
        return command;
    }

    private static Command List(CliApp app)
    {
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Only show image IDs" };
        var all = new Option<bool>("--all", "-a") { Description = "Show all images (a node's store has no intermediate images: the same list)" };
        var digests = new Option<bool>("--digests") { Description = "Show digests" };
        var noTrunc = new Option<bool>("--no-trunc") { Description = "Don't truncate output" };
        var filter = new Option<string[]>("--filter", "-f")
        {
            Description = "Filter output: dangling=true|false, label=KEY[=VALUE], before=IMAGE, since=IMAGE, reference=PATTERN, until=TIME",
            DefaultValueFactory = _ => [],
        }.CheckedBy(ImageFilter.Check);
        var format = new Option<string?>("--format")
        {
            Description = "Format output: table (default), json, or a Go template such as '{{.Repository}}:{{.Tag}}'",
        }.CheckedBy(v => ListingFormat.Check(v, ImageView.Columns.Keys.ToList()));
        var repository = new Argument<string?>("REPOSITORY[:TAG]") { Description = "Only the images with a name that matches (a pattern, as reference=)", Arity = ArgumentArity.ZeroOrOne }
            .CheckedBy(r => r is null || GoPathMatch.Problem(r) is not { } problem ? null : $"'{r}' is not a valid pattern: {problem}");
        var command = new Command("ls", "List images").With(quiet, all, digests, noTrunc, filter, format, repository);
        command.Aliases.Add("list");
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var listing = ListingFormat.Parse(parse.GetValue(format), parse.GetValue(quiet), ImageView.Columns.Keys.ToList(), out _)!;
            var list = await cli.RequestAsync<ImageList>(new ListImages(SwarmIds.NewRequestId()), Timeouts.Query, ct);
            // docker adds the argument as one more reference filter.
            var filters = (parse.GetValue(filter) ?? []).Concat(parse.GetValue(repository) is { } r ? [$"reference={r}"] : Array.Empty<string>()).ToList();
            var now = DateTimeOffset.UtcNow;
            var (images, problem) = ImageFilter.Apply(list.Images, filters, now);
            if (problem is not null)
            {
                await cli.Error.WriteLineAsync($"Error: {problem}");
                return 1;
            }

            // docker's needDigest: --digests, or a format that prints the digest.
            var showDigests = parse.GetValue(digests) || (parse.GetValue(format)?.Contains("{{.Digest}}", StringComparison.Ordinal) ?? false);
            var rows = ImageView.Rows(images, now, showDigests, parse.GetValue(noTrunc)).ToList();
            var items = rows.Select(ImageView.ToJson).ToList();
            // -q prints each image once, however many names it has.
            await cli.Out.WriteAsync(parse.GetValue(quiet)
                ? string.Concat(rows.Select(r => r.Id).Distinct(StringComparer.Ordinal).Select(id => id + "\n"))
                : listing.Render(items, () => ImageView.Table(rows, showDigests), ImageView.Columns));
            return 0;
        });
        return command;
    }

    private static Command Inspect(CliApp app)
    {
        var format = new Option<string?>("--format", "-f") { Description = "Format output using a Go template, such as '{{.Config.Cmd}}'" }
            .CheckedBy(f => PerItem.InspectFormatError(f, ImageView.InspectFields));
        var images = new Argument<string[]>("IMAGE") { Description = "Image names, ids or id prefixes", Arity = ArgumentArity.OneOrMore };
        var command = new Command("inspect", "Display detailed information on one or more images").With(format, images);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var found = new List<ImageObject>();
            var status = await PerItem.ForEachAsync(cli, parse.GetRequiredValue(images), async imageRef =>
                found.Add((await cli.RequestAsync<ImageDetails>(new InspectImage(SwarmIds.NewRequestId(), imageRef), Timeouts.Query, ct)).Image));
            await cli.Out.WriteAsync(PerItem.Inspected(found, ImageView.Inspect, parse.GetValue(format)));
            return status;
        });
        return command;
    }

    private static Command Tag(CliApp app)
    {
        var source = new Argument<string>("SOURCE_IMAGE[:TAG]") { Description = "The image to name: a name, id, id prefix or digest" };
        var target = new Argument<string>("TARGET_IMAGE[:TAG]") { Description = "The new name, NAME[:TAG]" }
            .CheckedBy(t => t is null || ImageReference.TryParse(t, out _, out var error) ? null
                : t.Contains('@', StringComparison.Ordinal) ? $"refusing to create a tag with a digest reference ('{t}'); give the target as NAME[:TAG]"
                : $"Error parsing reference: {error}");
        var command = new Command("tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE").With(source, target);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            // docker prints nothing on success; `image ls` shows the new name beside the old one.
            await cli.RequestAsync<ImageTagged>(new TagImage(SwarmIds.NewRequestId(), parse.GetRequiredValue(source), parse.GetRequiredValue(target)), Timeouts.Change, ct);
            return 0;
        });
        return command;
    }

    private static Command Remove(CliApp app)
    {
        var force = new Option<bool>("--force", "-f") { Description = "Force removal of the image" };
        var images = new Argument<string[]>("IMAGE") { Description = "Image names, ids or id prefixes", Arity = ArgumentArity.OneOrMore };
        var command = new Command("rm", "Remove one or more images").With(force, images);
        command.Aliases.Add("remove");
        app.SetAction(command, (parse, cli, ct) => PerItem.ForEachAsync(cli, parse.GetRequiredValue(images), async imageRef =>
        {
            var removed = await cli.RequestAsync<ImageRemoved>(new RemoveImage(SwarmIds.NewRequestId(), imageRef, parse.GetValue(force)), Timeouts.Change, ct);
            foreach (var name in removed.Untagged)
            {
                await cli.Out.WriteLineAsync($"Untagged: {name}");
            }

            foreach (var id in removed.Deleted)
            {
                await cli.Out.WriteLineAsync($"Deleted: {id}");
            }
        }));
        return command;
    }

    /// <summary>docker's prompts of `image prune` (with and without -a); only "y" or "yes" goes on.</summary>
    public static string PruneWarning(bool all) =>
        (all
            ? "WARNING! This will remove all images without at least one container associated to them.\n"
            : "WARNING! This will remove all dangling images.\n")
        + "Are you sure you want to continue? [y/N] ";

    /// <summary>
    /// `image prune [-a] [-f] [--filter until=|label=|label!=]`: the images of this node that no container of it uses (a task's
    /// or a standalone one, running or stopped), only the dangling ones (no tag) without -a, created at or before until and
    /// kept by the label filters; the node checks each again as it deletes it (one tagged or taken by a container since the
    /// listing stays). Docker's report: the names untagged and the images and layers deleted under "Deleted Images:", then
    /// the space the disk got back. Images are each node's own: on a swarm, run it on each node.
    /// </summary>
    private static Command Prune(CliApp app)
    {
        var all = new Option<bool>("--all", "-a") { Description = "Remove all unused images, not just dangling ones" };
        var force = new Option<bool>("--force", "-f") { Description = "Do not prompt for confirmation" };
        var filter = new Option<string[]>("--filter")
        {
            Description = "Provide filter values (e.g. \"until=<timestamp>\", label=KEY[=VALUE], label!=KEY[=VALUE], dangling=false as -a)",
            DefaultValueFactory = _ => [],
        }.CheckedBy(CheckPruneFilter);
        var command = new Command("prune", "Remove unused images").With(all, force, filter);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var filters = parse.GetValue(filter) ?? [];
            // docker's daemon reads dangling=false as "not only the dangling ones": -a.
            var everything = parse.GetValue(all) || filters.Any(f => f.Split('=', 2) is [var key, var value] && key.Trim() == "dangling" && value.Trim().ToLowerInvariant() is "false" or "0");
            var (exit, until) = await PruneFilters.BeginAsync(app, cli, filters, parse.GetValue(force), PruneWarning(everything), ct);
            if (exit is { } code)
            {
                return code;
            }

            var (report, reclaimed) = await PruneAsync(cli, filters, until, everything, ct);
            await cli.Out.WriteAsync(report);
            await cli.Out.WriteLineAsync($"Total reclaimed space: {ImageView.HumanSize(reclaimed)}");
            return 0;
        });
        return command;
    }

    /// <summary>`image prune`'s work once asked (also a step of `system prune`): docker's "Deleted Images:" part of the report, and the bytes reclaimed.</summary>
    public static async Task<(string Report, long Reclaimed)> PruneAsync(CliContext cli, IReadOnlyCollection<string> filters, DateTimeOffset? until, bool all, CancellationToken ct)
    {
        var list = await cli.RequestAsync<ImageList>(new ListImages(SwarmIds.NewRequestId()), Timeouts.Query, ct);
        var candidates = PruneCandidates(list.Images, filters, until, all);
        var pruned = candidates.Count == 0
            ? new ImagesPruned([], [], 0)
            : await cli.RequestAsync<ImagesPruned>(new PruneImages(SwarmIds.NewRequestId(), [.. candidates.Select(i => i.Id)], all), Timeouts.Change, ct);
        var lines = pruned.Untagged.Select(n => $"untagged: {n}\n").Concat(pruned.Deleted.Select(d => $"deleted: {d}\n")).ToList();
        return (lines.Count > 0 ? "Deleted Images:\n" + string.Concat(lines) + "\n" : string.Empty, pruned.SpaceReclaimed);
    }

    private static readonly ImmutableArray<string> PruneFilterKeys = [.. PruneFilters.Keys, "dangling"];

    /// <summary>Why an `image prune --filter` cannot be used, or null: the prune filters, and dangling=true|false.</summary>
    private static string? CheckPruneFilter(string filter) => PruneFilters.Check(filter, PruneFilterKeys, (key, value) =>
        key == "dangling" && value.Trim().ToLowerInvariant() is not ("true" or "false" or "1" or "0") ? $"invalid filter 'dangling={value}': use true or false" : null);

    /// <summary>
    /// The images `image prune` asks the node to delete, as docker's daemon chooses them before its own checks: the dangling
    /// ones (no tag; a digest reference alone does not keep one) or, with <paramref name="all"/>, every one; created at or
    /// before until (an image without a creation time is kept when until is given, as docker's), carrying every label= term and
    /// not every label!= term. Whether a container uses one is the node's to say.
    /// </summary>
    public static IReadOnlyList<ImageObject> PruneCandidates(IEnumerable<ImageObject> images, IReadOnlyCollection<string> filters, DateTimeOffset? until, bool all)
    {
        var kept = PruneFilters.Matcher(filters, until);
        return [.. images.Where(i =>
            (all || i.RepoTags.IsDefaultOrEmpty)
            && (until is null || i.Created is not null)
            && kept(i.Labels ?? ImmutableSortedDictionary<string, string>.Empty, i.Created ?? DateTimeOffset.MinValue))];
    }

    private static Command Push(CliApp app)
    {
        var name = new Argument<string>("NAME[:TAG]") { Description = "The image to push, by the name it has on this node" }
            .CheckedBy(n => n is null || ImageReference.TryParse(n, out _, out var error) ? null : $"image push: {error}");
        var command = new Command("push", "Push an image of this node to the swarm's registry (from a manager; workers may only pull)").With(name);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var image = parse.GetRequiredValue(name);
            var pushed = await cli.RequestAsync<ImagePushed>(new PushImage(SwarmIds.NewRequestId(), image), LoadTimeout, ct);
            await cli.Out.WriteLineAsync($"The push refers to repository {pushed.Repository} in the swarm's registry");
            await cli.Out.WriteLineAsync(
                $"{pushed.BlobsUploaded} blob(s) pushed ({ImageView.HumanSize(pushed.BytesUploaded)}), "
                + (pushed.BlobsMounted > 0 ? $"{pushed.BlobsMounted} mounted from other repositories, " : string.Empty)
                + $"{pushed.BlobsPresent} already there");
            await cli.Out.WriteLineAsync($"{pushed.Tag}: digest: {pushed.Digest}");
            return 0;
        });
        return command;
    }

    private static Command Pull(CliApp app)
    {
        var name = new Argument<string>("NAME[:TAG|@DIGEST]") { Description = "The image to pull from the swarm's registry" }
            .CheckedBy(n => n is null || ImageReference.TryParse(n, out _, out var error, allowDigest: true) ? null : $"image pull: {error}");
        var command = new Command("pull", "Pull an image from the swarm's registry into this node").With(name);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var image = parse.GetRequiredValue(name);
            var pulled = await cli.RequestAsync<ImagePulled>(new PullImage(SwarmIds.NewRequestId(), image), LoadTimeout, ct);
            await cli.Out.WriteLineAsync($"Digest: {pulled.Digest}");
            await cli.Out.WriteLineAsync(PullStatus(image, pulled));
            return 0;
        });
        return command;
    }

    /// <summary>
    /// docker's last line of a pull (distribution's writeStatus): "Downloaded newer image" when the name now
    /// points to an image it did not point to before, even if every blob was here already (a new tag for
    /// an image present), else "Image is up to date"; what came over the wire is added when anything did.
    /// </summary>
    internal static string PullStatus(string image, ImagePulled pulled) =>
        !pulled.Updated ? $"Status: Image is up to date for {image}"
        : pulled.LayersDownloaded == 0 ? $"Status: Downloaded newer image for {image}"
        : $"Status: Downloaded newer image for {image} ({pulled.LayersDownloaded} blob(s), {ImageView.HumanSize(pulled.BytesDownloaded)})";

    private static string? CheckFile(string? path) =>
        path is null || File.Exists(path)
            ? null
            : $"open {path}: no such file; give the path of a tar archive";
}
