using System.Text.RegularExpressions;

namespace ProtoSwarm.Contracts;

/// <summary>
/// An image reference as docker normalises it: `busybox` is `docker.io/library/busybox:latest`, shown as
/// `busybox:latest`; a first component with a dot, a colon or `localhost` is a registry. A reference may
/// be pinned to a manifest digest (`busybox:latest@sha256:...`, or `busybox@sha256:...` without a tag).
/// Shared by the node's image store (whose names are never pinned), the managers (which pin a service's
/// image to the digest the swarm's registry holds) and the registry clients.
/// </summary>
public sealed partial record ImageReference(string Domain, string Path, string Tag, string Digest = "")
{
    public const string DefaultDomain = "docker.io";

    /// <summary>The full name without the digest, `docker.io/library/busybox:latest`: the image store's key.</summary>
    public string FullName => $"{Domain}/{Path}:{Tag}";

    /// <summary>The repository as docker shows it (`busybox`, `me/app`, `registry:5000/app`).</summary>
    public string Repository => Domain == DefaultDomain
        ? Path.StartsWith("library/", StringComparison.Ordinal) ? Path["library/".Length..] : Path
        : $"{Domain}/{Path}";

    /// <summary>The name as docker shows it, without the digest: `busybox:latest`.</summary>
    public string Familiar => $"{Repository}:{Tag}";

    /// <summary>Whether the reference names a manifest digest.</summary>
    public bool IsPinned => Digest.Length > 0;

    /// <summary>The name with its digest when pinned: `busybox:latest@sha256:...`.</summary>
    public string Pinned => IsPinned ? $"{Familiar}@{Digest}" : Familiar;

    public ImageReference WithDigest(string digest) => this with { Digest = digest };

    public ImageReference WithoutDigest() => this with { Digest = string.Empty };

    public override string ToString() => Pinned;

    /// <summary>
    /// Parses NAME[:TAG][@sha256:HEX]. <paramref name="allowDigest"/> false refuses a digest (a name to
    /// store an image under is a tag, never a digest).
    /// </summary>
    public static bool TryParse(string text, out ImageReference reference, out string error, bool allowDigest = false)
    {
        reference = null!;
        error = string.Empty;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "an image name is empty; give NAME[:TAG], such as busybox:latest";
            return false;
        }

        var digest = string.Empty;
        var at = text.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            if (!allowDigest)
            {
                error = $"'{text}': names with a digest (@sha256:...) cannot be stored as a tag; give NAME[:TAG]";
                return false;
            }

            digest = text[(at + 1)..];
            if (!IsDigest(digest))
            {
                error = $"'{text}': the digest '{digest}' is not valid; write it as sha256:<64 lowercase hex digits>";
                return false;
            }

            text = text[..at];
        }

        var name = text;
        var tag = "latest";
        if (HasTag(text))
        {
            var colon = text.LastIndexOf(':');
            name = text[..colon];
            tag = text[(colon + 1)..];
        }

        if (!TagPattern().IsMatch(tag))
        {
            error = $"'{text}': the tag '{tag}' is not valid; a tag is up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'";
            return false;
        }

        var domain = DefaultDomain;
        var path = name;
        var firstSlash = name.IndexOf('/', StringComparison.Ordinal);
        if (firstSlash > 0)
        {
            var first = name[..firstSlash];
            if (first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost")
            {
                domain = first;
                path = name[(firstSlash + 1)..];
            }
        }

        if (domain == "index.docker.io")
        {
            domain = DefaultDomain;
        }

        if (domain == DefaultDomain && !path.Contains('/', StringComparison.Ordinal))
        {
            path = "library/" + path;
        }

        if (!IsRepositoryPath(path))
        {
            error = $"'{text}': invalid reference format: repository name must be lowercase letters, digits and separators ('.', '_', '__', '-'), components split by '/'";
            return false;
        }

        reference = new ImageReference(domain, path, tag, digest);
        return true;
    }

    /// <summary>Parses a name; a bad one throws <see cref="FormatException"/> with the reason.</summary>
    /// <summary>Whether a reference as written names a tag: a ':' after its last '/' (a registry's port comes before it).</summary>
    public static bool HasTag(string text) => text.LastIndexOf(':') > text.LastIndexOf('/');

    public static ImageReference Parse(string text, bool allowDigest = false) =>
        TryParse(text, out var reference, out var error, allowDigest) ? reference : throw new FormatException(error);

    /// <summary>A registry repository path: lowercase components split by '/', at most 255 characters.</summary>
    public static bool IsRepositoryPath(string path) =>
        path.Length is > 0 and <= 255 && path.Split('/').All(c => ComponentPattern().IsMatch(c));

    /// <summary>A sha256 digest as registries write it: sha256:&lt;64 lowercase hex&gt;.</summary>
    public static bool IsDigest(string digest) => DigestPattern().IsMatch(digest);

    /// <summary>A tag: up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'.</summary>
    public static bool IsTag(string tag) => TagPattern().IsMatch(tag);

    [GeneratedRegex(@"^[\w][\w.-]{0,127}$")]
    private static partial Regex TagPattern();

    [GeneratedRegex(@"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")]
    private static partial Regex ComponentPattern();

    [GeneratedRegex(@"^sha256:[a-f0-9]{64}$")]
    private static partial Regex DigestPattern();
}
