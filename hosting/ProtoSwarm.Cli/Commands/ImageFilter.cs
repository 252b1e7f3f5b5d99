using System.Collections.Immutable;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Commands;

/// <summary>
/// `image ls --filter` and its REPOSITORY[:TAG] argument, as docker's image list applies them: values of one
/// key are alternatives, keys combine. `reference=PATTERN` (Go's path.Match against the familiar name and the
/// familiar name with its tag or digest) also keeps only the names that match; `dangling=true` the images with no
/// tag, `false` those with any name; `label=KEY[=VALUE]` the config's labels; `before=IMAGE` / `since=IMAGE` created
/// before / after that image; `until=TIME` created before a time or a duration ago.
/// </summary>
internal static class ImageFilter
{
    public static readonly ImmutableArray<string> Keys = ["dangling", "label", "before", "since", "reference", "until"];

    public static string? Check(string filter) => ServiceFilter.Check(filter, Keys, (key, value) => key switch
    {
        "dangling" when value.ToLowerInvariant() is not ("true" or "false" or "1" or "0") => $"invalid filter 'dangling={value}': use true or false",
        "reference" when GoPathMatch.Problem(value) is { } problem => $"the pattern is malformed ({problem})",
        "until" when ServiceLogsCommand.Since(value, DateTimeOffset.UnixEpoch) is { IsValid: false } => "give a time (2013-01-02T13:23:37Z, or Unix seconds) or a duration before now (10m, 1h30m)",
        "before" or "since" when value.Trim().Length == 0 => "name an image (NAME[:TAG], or an id)",
        _ => null,
    });

    /// <summary>
    /// The images the filters keep, each with only the names a reference filter kept; null and a reason when a
    /// before/since image is not among <paramref name="images"/> (docker: "No such image").
    /// </summary>
    public static (IReadOnlyList<ImageObject> Kept, string? Problem) Apply(IReadOnlyList<ImageObject> images, IReadOnlyList<string> filters, DateTimeOffset now)
    {
        var terms = filters.Select(f => f.Split('=', 2)).ToLookup(p => p[0].Trim(), p => p[1], StringComparer.Ordinal);
        DateTimeOffset? before = null, since = null;
        foreach (var (key, bound) in new[] { ("before", true), ("since", false) })
        {
            foreach (var value in terms[key])
            {
                if (Find(images, value.Trim()) is not { } image)
                {
                    return ([], $"No such image: {value.Trim()}");
                }

                var created = image.Created ?? DateTimeOffset.MinValue;
                if (bound)
                {
                    before = before is { } b && b < created ? b : created;
                }
                else
                {
                    since = since is { } s && s > created ? s : created;
                }
            }
        }

        var until = terms["until"].Select(v => ServiceLogsCommand.Since(v, now).Value).DefaultIfEmpty(DateTimeOffset.MaxValue).Min();
        var dangling = terms["dangling"].Select(v => v.ToLowerInvariant() is "true" or "1").ToList();
        var patterns = terms["reference"].ToList();
        var kept = new List<ImageObject>();
        foreach (var image in images)
        {
            var created = image.Created ?? DateTimeOffset.MinValue;
            if ((before is { } b && created >= b) || (since is { } s && created <= s) || created >= until)
            {
                continue;
            }

            if (terms["label"].Any() && !terms["label"].Any(l => ServiceFilter.MatchesLabel(image.Labels ?? ImmutableSortedDictionary<string, string>.Empty, l)))
            {
                continue;
            }

            var tags = image.RepoTags.IsDefault ? [] : image.RepoTags;
            var digests = image.RepoDigests.IsDefault ? [] : image.RepoDigests;
            if (patterns.Count > 0)
            {
                tags = [.. tags.Where(t => patterns.Any(p => Referenced(p, t)))];
                digests = [.. digests.Where(d => patterns.Any(p => Referenced(p, d)))];
                if (tags.IsEmpty && digests.IsEmpty)
                {
                    continue;
                }
            }

            // dangling=true keeps the images without a tag (one with digests only included), false those with any name.
            if ((dangling.Contains(true) && !dangling.Contains(false) && !tags.IsEmpty) ||
                (dangling.Contains(false) && !dangling.Contains(true) && tags.IsEmpty && digests.IsEmpty))
            {
                continue;
            }

            kept.Add(image with { RepoTags = tags, RepoDigests = digests });
        }

        return (kept, null);
    }

    /// <summary>docker's FamiliarMatch: the pattern against `name:tag` (or `name@digest`), then against the name alone.</summary>
    private static bool Referenced(string pattern, string familiar)
    {
        var at = familiar.IndexOf('@', StringComparison.Ordinal);
        var name = at >= 0 ? familiar[..at] : ImageReference.HasTag(familiar) ? familiar[..familiar.LastIndexOf(':')] : familiar;
        return GoPathMatch.Matches(pattern, familiar) || GoPathMatch.Matches(pattern, name);
    }

    /// <summary>An image by familiar name (a missing tag is latest), full or short id, as docker's before/since find it.</summary>
    private static ImageObject? Find(IReadOnlyList<ImageObject> images, string reference)
    {
        if (ImageReference.TryParse(reference, out var name, out _) && images.FirstOrDefault(i => !i.RepoTags.IsDefault && i.RepoTags.Contains(name.Familiar)) is { } named)
        {
            return named;
        }

        var hex = reference.StartsWith("sha256:", StringComparison.Ordinal) ? reference["sha256:".Length..] : reference;
        var byId = hex.Length > 0 && hex.All(char.IsAsciiHexDigitLower)
            ? images.Where(i => i.Id.StartsWith("sha256:" + hex, StringComparison.Ordinal)).ToList()
            : [];
        return byId.Count == 1 ? byId[0] : null;
    }
}
