using System.Collections.Immutable;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Nodes;

namespace ProtoSwarm.Tests.Managers;

public sealed class ImagePinningTests
{
    internal static readonly string A = "sha256:" + new string('a', 64);
    internal static readonly string B = "sha256:" + new string('b', 64);
    internal static readonly string C = "sha256:" + new string('c', 64);
    internal static readonly string D = "sha256:" + new string('d', 64);

    /// <summary>The registry holds busybox:latest (A) and busybox:1.36 (C), me/app:v1 (B); nothing of nginx.</summary>
    private static readonly StoreState Registry = StoreState.Restore(9,
    [
        Repository("library/busybox", ("latest", A), ("1.36", C)),
        Repository("me/app", ("v1", B)),
    ]);

    internal static RepositoryObject Repository(string path, params (string Tag, string Digest)[] tags) =>
        RepositoryObject.Empty(path, TestNodes.T0) with
        {
            Meta = new ObjectMeta(3, TestNodes.T0, TestNodes.T0),
            Tags = tags.ToImmutableSortedDictionary(t => t.Tag, t => t.Digest, StringComparer.Ordinal),
        };

    internal static ServiceSpec Spec(ContainerSpec container) =>
        new("web", ImmutableSortedDictionary<string, string>.Empty, ServiceMode.ReplicatedMode(2), new TaskSpec(container));

    public static TheoryData<string, string, string?, string, bool> Cases() => new()
    {
        // image, mode, previous image (null: create), stored image, warned
        { "busybox", "always", null, $"busybox:latest@{A}", false },
        { "busybox:1.36", "always", null, $"busybox:1.36@{C}", false },
        { "docker.io/library/busybox:latest", "always", null, $"busybox:latest@{A}", false },
        { "me/app:v1", "always", null, $"me/app:v1@{B}", false },
        // A digest written with the tag is kept as written, as docker's daemon keeps a canonical reference:
        // not swapped for the tag's (A), even when made up (D), nor dropped when the registry lacks the tag.
        { $"busybox:latest@{B}", "always", null, $"busybox:latest@{B}", false },
        { $"busybox:latest@{D}", "always", null, $"busybox:latest@{D}", false },
        { $"busybox:latest@{A}", "always", $"busybox:latest@{B}", $"busybox:latest@{A}", false },
        { $"busybox:latest@{B}", "always", $"busybox:latest@{B}", $"busybox:latest@{B}", false }, // an update that leaves a pin alone keeps it
        { $"me/app:v1@{C}", "changed", null, $"me/app:v1@{C}", false },
        { "busybox", "always", $"busybox:latest@{B}", $"busybox:latest@{A}", false },        // a moved tag is followed
        { "busybox:nope", "always", null, "busybox:nope", true },
        { "nginx", "always", null, "nginx", true },                                         // kept as written
        { $"nginx:1.27@{C}", "always", null, $"nginx:1.27@{C}", false },                   // no such tag: the digest stays, no warning
        { $"nginx:1.27@{C}", "changed", $"busybox:latest@{A}", $"nginx:1.27@{C}", false },
        { "busybox:1.36", "always", $"busybox:latest@{A}", $"busybox:1.36@{C}", false },   // a new tag is resolved
        { $"nginx@{C}", "always", null, $"nginx@{C}", false },                             // a digest alone names no tag
        { "Not/An Image", "always", null, "Not/An Image", false },                         // for the spec's checks to judge
        { "busybox", "changed", null, $"busybox:latest@{A}", false },                       // a create has nothing to compare with
        { "busybox", "changed", $"busybox:latest@{B}", $"busybox:latest@{B}", false },      // unchanged: the previous pin stays
        { "busybox:latest", "changed", "busybox", "busybox", false },                       // same name as written before
        { $"busybox:latest@{B}", "changed", $"busybox:latest@{B}", $"busybox:latest@{B}", false },
        { $"busybox:latest@{C}", "changed", $"busybox:latest@{B}", $"busybox:latest@{C}", false }, // an explicit digest stays as given
        { "busybox:1.36", "changed", $"busybox:latest@{B}", $"busybox:1.36@{C}", false },   // a new tag is resolved
        { "nginx", "changed", $"busybox:latest@{A}", "nginx", true },
        { "busybox", "never", null, "busybox", false },
        { $"busybox:latest@{B}", "never", $"busybox:latest@{A}", $"busybox:latest@{B}", false },
        { "nginx", "never", null, "nginx", false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Pins_Per_Mode(string image, string mode, string? previous, string expected, bool warned)
    {
        var pinned = ImagePinning.Pin(Registry, image, mode, previous);

        Assert.Equal(expected, pinned.Image);
        Assert.Equal(warned, pinned.Warning is not null);
    }

    [Fact]
    public void A_Tag_Missing_From_The_Registry_Warns_In_Dockers_Words_With_The_Push_Command()
    {
        var pinned = ImagePinning.Pin(StoreState.Empty, "busybox", ResolveImageModes.Always, null);

        Assert.Equal("busybox", pinned.Image);
        Assert.Equal(
            "image busybox:latest could not be accessed on the swarm's registry to record its digest; each node will use its own busybox:latest, " +
            "possibly different versions; push it with `protoswarm image push busybox:latest`",
            pinned.Warning);
    }

    [Theory]
    [InlineData(null, "busybox", ResolveImageModes.Always)]
    [InlineData("", "busybox", ResolveImageModes.Always)]
    [InlineData(null, "busybox", ResolveImageModes.Changed)]
    public void An_Empty_Mode_Is_The_Default_Given(string? mode, string image, string defaultMode)
    {
        var previous = defaultMode == ResolveImageModes.Changed ? $"busybox:latest@{B}" : null;

        var pinned = ImagePinning.Pin(Registry, image, mode, previous, defaultMode);

        Assert.Equal(defaultMode == ResolveImageModes.Changed ? previous : $"busybox:latest@{A}", pinned.Image);
    }

    [Theory]
    [InlineData("always", true)]
    [InlineData("changed", true)]
    [InlineData("never", true)]
    [InlineData("", true)]
    [InlineData("Always", false)]
    [InlineData("sometimes", false)]
    public void Only_Always_Changed_And_Never_Are_Modes(string mode, bool accepted)
    {
        var refused = ImagePinning.CheckMode(mode);

        Assert.Equal(accepted, refused is null);
        if (refused is not null)
        {
            Assert.Equal(RejectCode.InvalidArgument, refused.Code);
            Assert.Contains("use always, changed or never", refused.Reason, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_Spec_Is_Pinned_In_Its_Container_Only_And_An_Unchanged_Spec_Is_Returned_As_Is()
    {
        var spec = Spec(new ContainerSpec("busybox", Args: ["sleep", "1d"]));

        var (pinned, warnings) = ImagePinning.PinSpec(Registry, spec, ResolveImageModes.Always, previous: null, ResolveImageModes.Always);
        var (kept, none) = ImagePinning.PinSpec(Registry, pinned, null, previous: pinned, ResolveImageModes.Changed);

        Assert.Equal($"busybox:latest@{A}", pinned.TaskTemplate.Container.Image);
        Assert.Equal(["sleep", "1d"], pinned.TaskTemplate.Container.Args.ToArray());
        Assert.Empty(warnings);
        Assert.Same(pinned, kept);
        Assert.Empty(none);
    }

    [Fact]
    public void The_Specs_Checks_Accept_A_Pinned_Image()
    {
        var spec = Spec(new ContainerSpec($"busybox:latest@{A}"));

        Assert.Null(ServiceCommands.Check(spec, ImmutableHashSet<string>.Empty));
    }

    [Fact]
    public void A_Redeploy_Pinned_To_The_Same_Digest_Changes_No_Task_And_A_New_Digest_Does()
    {
        var spec = Spec(new ContainerSpec("busybox"));
        var first = ImagePinning.PinSpec(Registry, spec, ResolveImageModes.Always, null, ResolveImageModes.Always).Spec;
        var moved = StoreState.Restore(10, [Repository("library/busybox", ("latest", B))]);

        var same = ImagePinning.PinSpec(Registry, spec, ResolveImageModes.Always, first, ResolveImageModes.Always).Spec;
        var newer = ImagePinning.PinSpec(moved, spec, ResolveImageModes.Always, first, ResolveImageModes.Always).Spec;

        Assert.True(SpecEquality.SameTasks(first, same));
        Assert.False(SpecEquality.SameTasks(first, newer));
    }

    [Fact]
    public void A_Rollback_Restores_The_Previous_Spec_With_Its_Digest_Not_Resolved_Again()
    {
        var created = new ServiceObject("svc1", new ObjectMeta(4, TestNodes.T0, TestNodes.T0), Spec(new ContainerSpec($"busybox:latest@{A}")), SpecVersion: 1);
        var moved = StoreState.Restore(10, [Repository("library/busybox", ("latest", B))]);
        var (spec, _) = ImagePinning.PinSpec(moved, created.Spec with { TaskTemplate = new TaskSpec(new ContainerSpec("busybox")) }, ResolveImageModes.Always, created.Spec, ResolveImageModes.Changed);
        var (updated, _) = ServiceCommands.Update(created, 4, spec, ImmutableHashSet<string>.Empty, TestNodes.T0);
        var stored = updated! with { Meta = new ObjectMeta(5, TestNodes.T0, TestNodes.T0) };

        var (rolledBack, rejected) = ServiceCommands.Rollback(stored, 5, TestNodes.T0);

        Assert.Null(rejected);
        Assert.Equal($"busybox:latest@{B}", stored.Spec.TaskTemplate.Container.Image);
        Assert.Equal($"busybox:latest@{A}", rolledBack!.Spec.TaskTemplate.Container.Image);
        Assert.Equal(UpdateState.RollbackStarted, rolledBack.UpdateStatus!.State);
    }
}
