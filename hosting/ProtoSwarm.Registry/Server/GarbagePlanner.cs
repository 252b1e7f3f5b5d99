using System.Collections.Immutable;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Registry.Server;

/// <summary>What garbage collection takes from one repository: manifests (digests) and blob links (digest to size).</summary>
public sealed record RepositoryGcPlan(ImmutableArray<string> Manifests, ImmutableSortedDictionary<string, long> Blobs)
{
    public static readonly RepositoryGcPlan Nothing = new([], ImmutableSortedDictionary.Create<string, long>(StringComparer.Ordinal));

    public bool IsEmpty => Manifests.IsEmpty && Blobs.IsEmpty;
}

/// <summary>
/// The mark of the registry's garbage collection, for one repository, as a pure function of its metadata and
/// the time. Kept: every manifest (or, with deleteUntagged, those a tag points to, the children of kept indexes,
/// transitively, and any manifest pushed within the grace, since an index's children are pushed untagged before
/// it), and every blob a kept manifest names. Of the rest, only what is older than the grace goes: a push links
/// each blob when its upload completes and puts the manifest naming them afterwards, so a blob linked within the
/// grace may belong to a push still under way. A blob with no recorded link time was linked before link times
/// were recorded: long ago.
/// </summary>
public static class GarbagePlanner
{
    public static RepositoryGcPlan Plan(RepositoryObject repository, DateTimeOffset now, TimeSpan grace, bool deleteUntagged)
    {
        var cutoff = now - grace;
        var kept = new HashSet<string>(StringComparer.Ordinal);
        if (!deleteUntagged)
        {
            kept.UnionWith(repository.Manifests.Keys);
        }
        else
        {
            var roots = repository.Tags.Values
                .Concat(repository.Manifests.Where(m => m.Value.PushedAt > cutoff).Select(m => m.Key));
            var pending = new Stack<string>(roots.Where(repository.Manifests.ContainsKey));
            while (pending.TryPop(out var digest))
            {
                if (kept.Add(digest))
                {
                    foreach (var child in repository.Manifests[digest].Manifests.Where(repository.Manifests.ContainsKey))
                    {
                        pending.Push(child);
                    }
                }
            }
        }

        var needed = new HashSet<string>(kept.SelectMany(d => repository.Manifests[d].Blobs), StringComparer.Ordinal);
        var manifests = repository.Manifests.Keys.Where(d => !kept.Contains(d)).ToImmutableArray();
        var blobs = repository.Blobs
            .Where(b => !needed.Contains(b.Key) && LinkedAt(repository, b.Key) <= cutoff)
            .ToImmutableSortedDictionary(b => b.Key, b => b.Value, StringComparer.Ordinal);
        return manifests.IsEmpty && blobs.IsEmpty ? RepositoryGcPlan.Nothing : new RepositoryGcPlan(manifests, blobs);
    }

    /// <summary>The repository without what the plan takes (tags of a removed manifest go with it; none point to one unless it was kept).</summary>
    public static RepositoryObject Apply(RepositoryObject repository, RepositoryGcPlan plan) =>
        plan.IsEmpty
            ? repository
            : repository with
            {
                Manifests = repository.Manifests.RemoveRange(plan.Manifests),
                Tags = repository.Tags.RemoveRange(repository.Tags.Where(t => plan.Manifests.Contains(t.Value)).Select(t => t.Key)),
                Blobs = repository.Blobs.RemoveRange(plan.Blobs.Keys),
                LinkedAt = repository.LinkedAt.RemoveRange(plan.Blobs.Keys),
            };

    /// <summary>When the blob was last linked; the start of time when that was never recorded.</summary>
    public static DateTimeOffset LinkedAt(RepositoryObject repository, string digest) =>
        repository.LinkedAt.TryGetValue(digest, out var at) ? at : DateTimeOffset.MinValue;
}
