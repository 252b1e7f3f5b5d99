using System.Text.RegularExpressions;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Containers.Images;

/// <summary>
/// An image name as docker normalises it: `busybox` is `docker.io/library/busybox:latest`, shown as
/// `busybox:latest`; a first component with a dot, a colon or `localhost` is a registry.
/// </summary>
public sealed partial record ImageReference(string Domain, string Path, string Tag)
{
    public const string DefaultDomain = "docker.io";

    /// <summary>The full name, `docker.io/library/busybox:latest`: the store's key.</summary>
    public string FullName => $"{Domain}/{Path}:{Tag}";

    /// <summary>The repository as docker shows it (`busybox`, `me/app`, `registry:5000/app`).</summary>
    public string Repository => Domain == DefaultDomain
        ? Path.StartsWith("library/", StringComparison.Ordinal) ? Path["library/".Length..] : Path
        : $"{Domain}/{Path}";

    /// <summary>The name as docker shows it: `busybox:latest`.</summary>
    public string Familiar => $"{Repository}:{Tag}";

    public override string ToString() => Familiar;

    public static bool TryParse(string text, out ImageReference reference, out string error)
    {
        reference = null!;
        error = string.Empty;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "an image name is empty; give NAME[:TAG], such as busybox:latest";
            return false;
        }

        if (text.Contains('@', StringComparison.Ordinal))
        {
            error = $"'{text}': names with a digest (@sha256:...) cannot be stored as a tag; give NAME[:TAG]";
            return false;
        }

        var name = text;
        var tag = "latest";
        var slash = text.LastIndexOf('/');
        var colon = text.LastIndexOf(':');
        if (colon > slash)
        {
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

        if (!path.Split('/').All(c => ComponentPattern().IsMatch(c)) || path.Length > 255)
        {
            error = $"'{text}': invalid reference format: repository name must be lowercase letters, digits and separators ('.', '_', '__', '-'), components split by '/'";
            return false;
        }

        reference = new ImageReference(domain, path, tag);
        return true;
    }

    public static ImageReference Parse(string text) =>
        TryParse(text, out var reference, out var error) ? reference : throw new ImageStoreException(RejectCode.InvalidArgument, error);

    [GeneratedRegex(@"^[\w][\w.-]{0,127}$")]
    private static partial Regex TagPattern();

    [GeneratedRegex(@"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")]
    private static partial Regex ComponentPattern();
}
