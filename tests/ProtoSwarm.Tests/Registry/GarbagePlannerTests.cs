using System.Collections.Immutable;
using ProtoSwarm.Contracts;
using ProtoSwarm.Registry.Server;

namespace ProtoSwarm.Tests.Registry;

/// <summary>The mark of registry garbage collection: state in, plan out.</summary>
public sealed class GarbagePlannerTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 4, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Grace = TimeSpan.FromHours(1);
    private static readonly DateTimeOffset LongAgo = Now - TimeSpan.FromDays(3);

    private static string D(char c) => "sha256:" + new string(c, 64);

    private static RegistryManifest Image(DateTimeOffset pushedAt, params string[] blobs) =>
        new(RegistryServer.OciManifest, [1], [.. blobs], [], pushedAt);

    private static RegistryManifest Index(DateTimeOffset pushedAt, params string[] children) =>
        new(RegistryServer.OciIndex, [2], [], [.. children], pushedAt);

    /// <summary>vote: :latest is manifest 2 (config c2, layers base + l2); manifest 1 (c1, base + l1) was :latest yesterday.</summary>
    private static RepositoryObject Vote(DateTimeOffset? linkedAt = null)
    {
        var blobs = new[] { D('b'), D('1'), D('2'), D('c'), D('d') };
        var repository = RepositoryObject.Empty("me/vote", LongAgo) with
        {
            Manifests = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, new Dictionary<string, RegistryManifest>
            {
                [D('e')] = Image(LongAgo, D('c'), D('b'), D('1')),
                [D('f')] = Image(LongAgo, D('d'), D('b'), D('2')),
            }),
            Tags = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, new Dictionary<string, string> { ["latest"] = D('f') }),
            Blobs = blobs.ToImmutableSortedDictionary(b => b, _ => 100L, StringComparer.Ordinal),
        };
        return linkedAt is { } at ? repository with { LinkedAt = blobs.ToImmutableSortedDictionary(b => b, _ => at, StringComparer.Ordinal) } : repository;
    }

    [Fact]
    public void By_Default_Every_Manifest_Is_Kept_And_So_Are_The_Blobs_They_Name()
    {
        var plan = GarbagePlanner.Plan(Vote(), Now, Grace, deleteUntagged: false);

        Assert.True(plan.IsEmpty);
    }

    [Fact]
    public void Delete_Untagged_Takes_The_Manifest_No_Tag_Reaches_And_Unlinks_Only_The_Blobs_No_Kept_Manifest_Names()
    {
        var repository = Vote();

        var plan = GarbagePlanner.Plan(repository, Now, Grace, deleteUntagged: true);
        var after = GarbagePlanner.Apply(repository, plan);

        Assert.Equal<string>([D('e')], plan.Manifests);
        Assert.Equal([D('1'), D('c')], plan.Blobs.Keys); // the shared base layer stays: :latest names it
        Assert.Equal([D('f')], after.Manifests.Keys);
        Assert.Equal([D('2'), D('b'), D('d')], after.Blobs.Keys);
        Assert.Equal(D('f'), after.Tags["latest"]);
    }

    [Fact]
    public void A_Blob_No_Manifest_Names_Goes_Only_Once_Its_Link_Is_Older_Than_The_Grace()
    {
        // A push under way: its layer was uploaded (linked) ten minutes ago, its manifest is not put yet.
        var pushing = Vote() with
        {
            Blobs = Vote().Blobs.Add(D('9'), 5000),
            LinkedAt = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, [KeyValuePair.Create(D('9'), Now - TimeSpan.FromMinutes(10))]),
        };
        // A layer whose manifest was deleted, linked before link times were recorded (no entry): long ago.
        var orphaned = Vote() with { Blobs = Vote().Blobs.Add(D('8'), 7000) };

        Assert.True(GarbagePlanner.Plan(pushing, Now, Grace, deleteUntagged: false).IsEmpty);
        Assert.Equal([D('9')], GarbagePlanner.Plan(pushing, Now + TimeSpan.FromMinutes(51), Grace, deleteUntagged: false).Blobs.Keys);
        var orphanedPlan = GarbagePlanner.Plan(orphaned, Now, Grace, deleteUntagged: false);
        Assert.Equal(D('8'), Assert.Single(orphanedPlan.Blobs).Key);
        Assert.Equal(7000, orphanedPlan.Blobs[D('8')]);
        Assert.Empty(orphanedPlan.Manifests);
    }

    [Fact]
    public void Blobs_Of_An_Untagged_Manifest_Linked_Within_The_Grace_Stay_Linked_While_The_Manifest_Goes()
    {
        var plan = GarbagePlanner.Plan(Vote(linkedAt: Now - TimeSpan.FromMinutes(5)), Now, Grace, deleteUntagged: true);

        Assert.Equal<string>([D('e')], plan.Manifests);
        Assert.Empty(plan.Blobs);
    }

    [Fact]
    public void Delete_Untagged_Keeps_The_Children_Of_A_Tagged_Index_Transitively_And_Manifests_Pushed_Within_The_Grace()
    {
        var repository = RepositoryObject.Empty("me/multi", LongAgo) with
        {
            Manifests = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, new Dictionary<string, RegistryManifest>
            {
                [D('a')] = Index(LongAgo, D('b')),           // tagged :1
                [D('b')] = Index(LongAgo, D('c'), D('d')),   // an index inside the index
                [D('c')] = Image(LongAgo, D('1')),
                [D('d')] = Image(LongAgo, D('2')),
                [D('e')] = Image(LongAgo, D('3')),           // untagged, old: goes
                [D('f')] = Image(Now - TimeSpan.FromMinutes(1), D('4')), // a child pushed before its index: stays
            }),
            Tags = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, new Dictionary<string, string> { ["1"] = D('a'), ["gone"] = D('9') }),
            Blobs = new[] { D('1'), D('2'), D('3'), D('4') }.ToImmutableSortedDictionary(b => b, _ => 10L, StringComparer.Ordinal),
        };

        var plan = GarbagePlanner.Plan(repository, Now, Grace, deleteUntagged: true);

        Assert.Equal<string>([D('e')], plan.Manifests);
        Assert.Equal([D('3')], plan.Blobs.Keys);
    }

    [Fact]
    public void Apply_Of_Nothing_Is_The_Same_Object()
    {
        var repository = Vote();

        Assert.Same(repository, GarbagePlanner.Apply(repository, RepositoryGcPlan.Nothing));
    }
}
