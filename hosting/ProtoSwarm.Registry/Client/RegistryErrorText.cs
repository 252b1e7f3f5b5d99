using System.Net;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Registry.Client;

/// <summary>What a request to the registry was doing, read from its method and path: the words of a refusal depend on it.</summary>
internal enum RegistryOperation
{
    Ping,
    ReadManifest,
    PutManifest,
    ReadBlob,
    Upload,
}

/// <summary>
/// A registry's refusal in words for the person who typed `image push` or `image pull` (or reads a task's
/// error): what went wrong with which image, at which registry, and what to do; the protocol's code and the
/// digest concerned follow in one short tail ("[MANIFEST_BLOB_UNKNOWN sha256:...]") for whoever reads the
/// registry's log. The registry's own message is kept only where no sentence here says more, cut before its
/// advice, which speaks of the HTTP API. Pure.
/// </summary>
internal static class RegistryErrorText
{
    private const int MaxServerText = 160;

    public static RegistryOperation OperationOf(HttpRequestMessage? request)
    {
        var path = request?.RequestUri?.AbsolutePath ?? string.Empty;
        return path.Contains("/blobs/uploads/", StringComparison.Ordinal) ? RegistryOperation.Upload
            : path.Contains("/blobs/", StringComparison.Ordinal) ? RegistryOperation.ReadBlob
            : path.Contains("/manifests/", StringComparison.Ordinal) && request?.Method == HttpMethod.Put ? RegistryOperation.PutManifest
            : path.Contains("/manifests/", StringComparison.Ordinal) ? RegistryOperation.ReadManifest
            : RegistryOperation.Ping;
    }

    /// <param name="reference">The tag or digest the request named (a blob's digest for a blob request).</param>
    /// <param name="serverText">The registry's message, if it gave one.</param>
    /// <param name="detailDigest">The digest the registry's error detail names (the missing blob of a manifest), if any.</param>
    public static string Describe(
        string registry, RegistryOperation operation, HttpStatusCode status, string code, string serverText, string repository, string? reference, string? detailDigest)
    {
        var image = Image(repository, operation is RegistryOperation.ReadManifest or RegistryOperation.PutManifest ? reference : null);
        var where = $"the registry at {registry}";
        var digest = detailDigest ?? (reference is not null && ImageReference.IsDigest(reference) ? reference : null);
        var said = Said(serverText);
        var text = ((int)status, code, operation) switch
        {
            (401 or 403, _, _) => $"{where} refused to let this node {Verb(operation)} {image}: only managers may push (workers may only pull), and a client of the plain listener needs the registry token (`protoswarm registry token push|pull`)",
            (429, _, _) => $"{where} asks to slow down while {Doing(operation)} {image}; try again in a moment",
            (503, "UNAVAILABLE", RegistryOperation.PutManifest) => $"{where} did not keep {image}{said}; a push is kept once a majority of the managers hold its layers: check that the managers are up and reach each other (`protoswarm node ls`), then push again",
            ( >= 500, _, _) => $"{where} failed while {Doing(operation)} {image}{said}; try again, and if it fails again see the managers' logs",
            (_, "MANIFEST_BLOB_UNKNOWN", _) => $"{where} refused {image}: a layer or config the image names is not in repository {repository} (removed by `protoswarm registry gc` during the push?); push the image again",
            (_, "MANIFEST_INVALID" or "MANIFEST_UNVERIFIED" or "UNSUPPORTED", RegistryOperation.PutManifest) => $"{where} refused the manifest of {image} as invalid{said}; the image here may be damaged: load it again, then push",
            (_, "DIGEST_INVALID" or "SIZE_INVALID" or "BLOB_UPLOAD_INVALID", RegistryOperation.Upload) => $"{where} refused a blob of {image}: its bytes did not match their digest or size{said}; the image here may be damaged: load it again, then push",
            (_, "BLOB_UPLOAD_UNKNOWN", _) => $"{where} no longer knows the upload of a blob of {image} (it expired or was cancelled); push again",
            (_, "NAME_INVALID", _) => $"{where} refused the repository name {repository}: use lowercase letters, digits and separators ('.', '_', '-') in components split by '/'",
            (404, "BLOB_UNKNOWN", _) or (404, _, RegistryOperation.ReadBlob) => $"{where} has no longer a layer or config of {image} that its manifest names; push the image again from a manager that has it",
            (404, _, RegistryOperation.ReadManifest or RegistryOperation.PutManifest) => $"{image} is not in {where}; push the image first from a manager (`protoswarm image push {PushName(repository, reference)}`), or see what the registry holds with `protoswarm registry ls`",
            (404, _, _) => $"{where} does not know repository {repository}; push the image first, or see `protoswarm registry ls`",
            _ => $"{where} refused to {Verb(operation)} {image}{said}; see the managers' logs",
        };
        var tail = string.Join(' ', new[] { code, digest }.Where(s => !string.IsNullOrEmpty(s)));
        return tail.Length > 0 ? $"{text} [{tail}]" : text;
    }

    /// <summary>`busybox:latest`, `me/app@sha256:...`, or the repository alone when the request named a blob.</summary>
    private static string Image(string repository, string? reference)
    {
        var name = repository.StartsWith("library/", StringComparison.Ordinal) ? repository["library/".Length..] : repository;
        return name.Length == 0 ? "the registry's API"
            : reference is null ? $"image {name}"
            : ImageReference.IsDigest(reference) ? $"image {name}@{reference}"
            : $"image {name}:{reference}";
    }

    private static string PushName(string repository, string? reference)
    {
        var name = repository.StartsWith("library/", StringComparison.Ordinal) ? repository["library/".Length..] : repository;
        return reference is null || ImageReference.IsDigest(reference) ? name : $"{name}:{reference}";
    }

    private static string Verb(RegistryOperation operation) => operation switch
    {
        RegistryOperation.PutManifest or RegistryOperation.Upload => "push",
        RegistryOperation.ReadManifest or RegistryOperation.ReadBlob => "pull",
        _ => "reach",
    };

    private static string Doing(RegistryOperation operation) => operation switch
    {
        RegistryOperation.PutManifest or RegistryOperation.Upload => "pushing",
        RegistryOperation.ReadManifest or RegistryOperation.ReadBlob => "pulling",
        _ => "answering about",
    };

    /// <summary>
    /// The registry's own words, up to its first ';' (what it found wrong, before its advice), never a JSON or
    /// HTML body and never long: ": the manifest has no config".
    /// </summary>
    private static string Said(string serverText)
    {
        var text = serverText.Trim();
        if (text.Length == 0 || text[0] is '{' or '[' or '<')
        {
            return string.Empty;
        }

        var cut = text.IndexOf(';', StringComparison.Ordinal);
        text = (cut > 0 ? text[..cut] : text).ReplaceLineEndings(" ");
        return ": " + (text.Length > MaxServerText ? text[..(MaxServerText - 1)] + "…" : text);
    }
}
