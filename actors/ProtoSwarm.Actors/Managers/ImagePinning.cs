using System.Collections.Immutable;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Managers;

/// <summary>What a service's image becomes once pinned, and the warning when it could not be.</summary>
public sealed record PinnedImage(string Image, string? Warning = null);

/// <summary>
/// `--resolve-image`: the managers pin a service's NAME:TAG to the manifest digest the swarm's registry
/// holds for that tag (NAME:TAG@sha256:...), so every node runs the same image even if the tag moves
/// later. Pure: the store state is the registry's metadata (<see cref="RepositoryObject"/> by
/// <see cref="ImageReference.Path"/>).
/// <para>
/// Only a reference without a digest is resolved. One with a digest (`NAME@sha256:...` or
/// `NAME:TAG@sha256:...`) is kept exactly as written in every mode, as docker's daemon asks the registry
/// only for a reference that is not canonical: a digest the user wrote is never swapped for the tag's,
/// not checked against the registry, and not dropped when the registry lacks the tag. A digest the
/// managers pinned earlier comes back the same way (`service update` sends the spec as read), so it is
/// kept too: a moved tag is followed by naming the image without a digest again (`service update
/// --image NAME:TAG`, or a stack file's `image: NAME:TAG`, which `stack deploy` sends as written), as
/// docker's CLI asks the registry only when `--image` is given.
/// </para>
/// <list type="bullet">
/// <item>always: pin an image without a digest from its tag (a redeploy of `NAME:TAG` picks up a moved tag);</item>
/// <item>changed: as always when the image without its digest differs from the previous spec's; otherwise
/// the previous pinned value is kept (or the digest as written);</item>
/// <item>never: the image as given.</item>
/// </list>
/// A tag the registry does not hold keeps the name without a digest and warns, as docker does.
/// </summary>
public static class ImagePinning
{
    /// <summary>The refusal of a mode other than always, changed or never, or null. Empty means the request's default.</summary>
    public static CommandRejected? CheckMode(string? mode) =>
        string.IsNullOrEmpty(mode) || ResolveImageModes.IsValid(mode)
            ? null
            : new CommandRejected(RejectCode.InvalidArgument,
                $"--resolve-image '{mode}' is not a mode; use {ResolveImageModes.Always}, {ResolveImageModes.Changed} or {ResolveImageModes.Never}.");

    /// <summary>
    /// The image to store for <paramref name="image"/>. <paramref name="previousImage"/> is the image of the
    /// spec being replaced (null on create); an empty <paramref name="mode"/> is <paramref name="defaultMode"/>.
    /// </summary>
    public static PinnedImage Pin(StoreState state, string image, string? mode, string? previousImage, string defaultMode = ResolveImageModes.Always)
    {
        mode = string.IsNullOrEmpty(mode) ? defaultMode : mode;
        switch (mode)
        {
            case ResolveImageModes.Never:
                return new PinnedImage(image);
            case ResolveImageModes.Changed when previousImage is not null && SameName(image, previousImage):
                // The image did not change: what was pinned stays pinned, an explicit digest stays as given.
                return new PinnedImage(IsPinned(image) ? image : previousImage);
            case ResolveImageModes.Always or ResolveImageModes.Changed:
                return Resolve(state, image);
            default:
                throw new ArgumentException($"Unknown --resolve-image mode '{mode}'; check it with {nameof(CheckMode)} first.", nameof(mode));
        }
    }

    /// <summary>
    /// The spec with its container image pinned per <see cref="Pin"/>, and its warnings. The spec before an
    /// update is <paramref name="previous"/>; a rollback never comes here (it restores the previous spec as is).
    /// </summary>
    public static (ServiceSpec Spec, ImmutableArray<string> Warnings) PinSpec(StoreState state, ServiceSpec spec, string? mode, ServiceSpec? previous, string defaultMode)
    {
        var container = spec.TaskTemplate.Container;
        var pinned = Pin(state, container.Image, mode, previous?.TaskTemplate.Container.Image, defaultMode);
        var result = pinned.Image == container.Image
            ? spec
            : spec with { TaskTemplate = spec.TaskTemplate with { Container = container with { Image = pinned.Image } } };
        return (result, pinned.Warning is null ? [] : [pinned.Warning]);
    }

    /// <summary>The warning for an image the swarm's registry does not hold (docker's words, with our push command).</summary>
    public static string NotInRegistryWarning(ImageReference reference) =>
        $"image {reference.Familiar} could not be accessed on the swarm's registry to record its digest; " +
        $"each node will use its own {reference.Familiar}, possibly different versions; push it with `protoswarm image push {reference.Familiar}`";

    private static PinnedImage Resolve(StoreState state, string image)
    {
        if (!ImageReference.TryParse(image, out var reference, out _, allowDigest: true))
        {
            // Not a reference this code can resolve; the spec's checks and the node judge it.
            return new PinnedImage(image);
        }

        if (reference.IsPinned)
        {
            // Canonical: kept as written, as docker's daemon keeps it; the registry is not asked.
            return new PinnedImage(image);
        }

        if (state.Get<RepositoryObject>(reference.Path) is { } repository
            && repository.Tags.TryGetValue(reference.Tag, out var digest)
            && ImageReference.IsDigest(digest))
        {
            return new PinnedImage(reference.WithDigest(digest).Pinned);
        }

        // As written: "busybox" stays "busybox", so a spec read back compares equal.
        return new PinnedImage(image, NotInRegistryWarning(reference));
    }

    /// <summary>Whether two images name the same NAME:TAG once their digests are set aside (`busybox` is `busybox:latest`).</summary>
    private static bool SameName(string a, string b) =>
        ImageReference.TryParse(a, out var x, out _, allowDigest: true) && ImageReference.TryParse(b, out var y, out _, allowDigest: true)
            ? x.WithoutDigest() == y.WithoutDigest()
            : WithoutDigest(a) == WithoutDigest(b);

    private static bool IsPinned(string image) => image.Contains('@', StringComparison.Ordinal);

    private static string WithoutDigest(string image)
    {
        var at = image.IndexOf('@', StringComparison.Ordinal);
        return at < 0 ? image : image[..at];
    }
}
