using System.Globalization;
using System.Text.Json.Nodes;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Output;

/// <summary>
/// One line of `image ls`: one per name, one per repository an image has only digest references in (its
/// tag `&lt;none&gt;`), or `&lt;none&gt; &lt;none&gt;` for a dangling image, as docker prints it.
/// </summary>
internal sealed record ImageRow(string Repository, string Tag, string Id, string CreatedSince, string CreatedAt, string Size, string Digest);

/// <summary>How images are shown: `image ls` rows, table and JSON lines, and `image inspect` objects, in docker's shapes.</summary>
internal static class ImageView
{
    public static readonly IReadOnlyDictionary<string, string> Columns = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["Repository"] = "REPOSITORY",
        ["Tag"] = "TAG",
        ["ID"] = "IMAGE ID",
        ["CreatedSince"] = "CREATED",
        ["CreatedAt"] = "CREATED AT",
        ["Size"] = "SIZE",
        ["Digest"] = "DIGEST",
    };

    public static readonly IReadOnlyCollection<string> InspectFields =
        ["Id", "RepoTags", "RepoDigests", "Created", "Size", "Architecture", "Os", "Config", "RootFS", "Metadata"];

    /// <summary>
    /// Newest first, as docker lists them; names in order within an image. With <paramref name="digests"/>
    /// (`--digests`, or a format that shows {{.Digest}}), a tag row is repeated for each digest the image
    /// has in that repository; without, a tag row's digest is `&lt;none&gt;`. A repository the image has only
    /// digest references in (an image pulled for a task by digest, or whose tag moved on) is a row with tag
    /// `&lt;none&gt;`: one per digest with <paramref name="digests"/>, else one with an empty digest. Only an
    /// image with neither tags nor digests is `&lt;none&gt; &lt;none&gt;` (docker's imageFormatTaggedAndDigest).
    /// <paramref name="noTrunc"/> shows whole ids (`sha256:...`), as `--no-trunc`.
    /// </summary>
    public static IEnumerable<ImageRow> Rows(IEnumerable<ImageObject> images, DateTimeOffset now, bool digests = false, bool noTrunc = false) =>
        images.OrderByDescending(i => i.Created ?? DateTimeOffset.MinValue).ThenBy(i => i.Id, StringComparer.Ordinal)
            .SelectMany(i => NamedRows(i, digests).Select(r => Row(i, r.Repository, r.Tag, r.Digest, now, noTrunc)).DefaultIfEmpty(Row(i, "<none>", "<none>", "<none>", now, noTrunc)));

    /// <summary>The (repository, tag, digest) rows of one image, before the image's own columns are added.</summary>
    private static IEnumerable<(string Repository, string Tag, string Digest)> NamedRows(ImageObject image, bool showDigests)
    {
        var tags = (image.RepoTags.IsDefault ? [] : image.RepoTags).Select(t => (Repository: Repository(t), Value: Tag(t)));
        var digests = (image.RepoDigests.IsDefault ? [] : image.RepoDigests).Where(d => d.Contains('@', StringComparison.Ordinal)).Select(d => (Repository: d[..d.IndexOf('@')], Value: d[(d.IndexOf('@') + 1)..])).ToList();
        var tagged = tags.GroupBy(t => t.Repository, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Select(t => t.Value).Order(StringComparer.Ordinal).ToList(), StringComparer.Ordinal);
        var digested = digests.GroupBy(d => d.Repository, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Select(d => d.Value).Order(StringComparer.Ordinal).ToList(), StringComparer.Ordinal);
        foreach (var repository in tagged.Keys.Union(digested.Keys).Order(StringComparer.Ordinal))
        {
            var repoDigests = showDigests ? digested.GetValueOrDefault(repository, []) : [];
            if (tagged.TryGetValue(repository, out var repoTags))
            {
                foreach (var tag in repoTags)
                {
                    foreach (var digest in repoDigests.DefaultIfEmpty("<none>"))
                    {
                        yield return (repository, tag, digest);
                    }
                }
            }
            else if (showDigests)
            {
                foreach (var digest in repoDigests)
                {
                    yield return (repository, "<none>", digest);
                }
            }
            else
            {
                yield return (repository, "<none>", string.Empty);
            }
        }
    }

    /// <summary>docker's table; `--digests` adds a DIGEST column after TAG.</summary>
    public static string Table(IEnumerable<ImageRow> rows, bool digests = false) => Output.Table.Render(digests
        ? rows.Select(r => (IReadOnlyList<string>)[r.Repository, r.Tag, r.Digest, r.Id, r.CreatedSince, r.Size])
            .Prepend(["REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE"])
        : rows.Select(r => (IReadOnlyList<string>)[r.Repository, r.Tag, r.Id, r.CreatedSince, r.Size])
            .Prepend(["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]));

    public static JsonObject ToJson(ImageRow row) => new()
    {
        ["ID"] = row.Id,
        ["Repository"] = row.Repository,
        ["Tag"] = row.Tag,
        ["CreatedSince"] = row.CreatedSince,
        ["CreatedAt"] = row.CreatedAt,
        ["Size"] = row.Size,
        ["Digest"] = row.Digest,
    };

    /// <summary>docker's `image inspect` object, with the fields this store knows.</summary>
    public static JsonObject Inspect(ImageObject image) => new()
    {
        ["Id"] = image.Id,
        ["RepoTags"] = Strings(image.RepoTags),
        ["RepoDigests"] = Strings(image.RepoDigests.IsDefault ? [] : image.RepoDigests),
        ["Created"] = image.Created is { } created ? Json.Timestamp(created) : string.Empty,
        ["Size"] = image.Size,
        ["Architecture"] = image.Architecture,
        ["Os"] = image.Os,
        ["Config"] = new JsonObject
        {
            ["User"] = image.User,
            ["ExposedPorts"] = image.ExposedPorts.IsDefaultOrEmpty ? Json.NilMap() : new JsonObject(image.ExposedPorts.Select(p => KeyValuePair.Create(p, (JsonNode?)new JsonObject()))),
            ["Env"] = NilIfEmpty(image.Env),
            ["Entrypoint"] = NilIfEmpty(image.Entrypoint),
            ["Cmd"] = NilIfEmpty(image.Cmd),
            ["Healthcheck"] = image.Healthcheck is { } h ? new JsonObject
            {
                ["Test"] = Strings(h.Test),
                ["Interval"] = h.Interval.Ticks * 100,
                ["Timeout"] = h.Timeout.Ticks * 100,
                ["StartPeriod"] = h.StartPeriod.Ticks * 100,
                ["Retries"] = h.Retries,
            } : null,
            ["Volumes"] = image.Volumes.IsDefaultOrEmpty ? Json.NilMap() : new JsonObject(image.Volumes.Select(v => KeyValuePair.Create(v, (JsonNode?)new JsonObject()))),
            ["WorkingDir"] = image.WorkingDir,
            ["Labels"] = image.Labels.IsEmpty ? Json.NilMap() : new JsonObject(image.Labels.Select(l => KeyValuePair.Create(l.Key, (JsonNode?)l.Value))),
            ["StopSignal"] = image.StopSignal.Length == 0 ? null : image.StopSignal,
        },
        ["RootFS"] = new JsonObject { ["Type"] = "layers", ["Layers"] = Strings(image.DiffIds) },
        ["Metadata"] = new JsonObject { ["ManifestDigest"] = image.ManifestDigest },
    };

    /// <summary>go-units HumanSizeWithPrecision(size, 3): decimal units, as `docker image ls` prints sizes ("4.26MB").</summary>
    public static string HumanSize(long bytes)
    {
        string[] units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
        double size = bytes;
        var unit = 0;
        while (size >= 1000 && unit < units.Length - 1)
        {
            size /= 1000;
            unit++;
        }

        return size.ToString("G3", CultureInfo.InvariantCulture) + units[unit];
    }

    /// <summary>docker's 12-digit short image id, without "sha256:".</summary>
    public static string ShortId(string id) => (id.StartsWith("sha256:", StringComparison.Ordinal) ? id[7..] : id) is var hex && hex.Length > 12 ? hex[..12] : hex;

    private static ImageRow Row(ImageObject image, string repository, string tag, string digest, DateTimeOffset now, bool noTrunc) => new(
        repository,
        tag,
        noTrunc ? image.Id : ShortId(image.Id),
        image.Created is { } created ? $"{SystemView.Duration(now - created)} ago" : "N/A",
        image.Created is { } at ? at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss '+0000 UTC'", CultureInfo.InvariantCulture) : string.Empty,
        HumanSize(image.Size),
        digest);

    private static string Repository(string repoTag) => repoTag[..repoTag.LastIndexOf(':')];

    private static string Tag(string repoTag) => repoTag[(repoTag.LastIndexOf(':') + 1)..];

    private static JsonArray Strings(IEnumerable<string> values) => new([.. values.Select(v => (JsonNode?)v)]);

    /// <summary>A list docker's image config leaves nil when empty: null in JSON, `[]` in a template, as Go prints them.</summary>
    private static JsonNode NilIfEmpty(System.Collections.Immutable.ImmutableArray<string> values) => values.IsDefaultOrEmpty ? Json.NilSlice() : Strings(values);
}
