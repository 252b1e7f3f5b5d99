using Microsoft.AspNetCore.Http;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Registry.Server;

/// <summary>What a path under /v2/ asks for.</summary>
internal enum RegistryRouteKind
{
    Base,
    Catalog,
    Tags,
    Manifest,
    Blob,
    UploadStart,
    Upload,

    /// <summary>Another manager asks this one to hold blobs now (<see cref="PeerProtocol.CopyPath"/>).</summary>
    PeerCopy,

    /// <summary>Another manager asks this one to sweep its disk after a garbage collection (<see cref="PeerProtocol.SweepPath"/>).</summary>
    PeerSweep,
}

/// <summary>
/// A path under /v2/ taken apart. A repository name holds slashes (`library/busybox`) and may even have a
/// component called `blobs` or `manifests`, so the path is read from its end, where the fixed words and the
/// one-segment reference (tag, digest, upload id) are, as docker's route patterns anchor on them.
/// </summary>
internal sealed record RegistryRoute(RegistryRouteKind Kind, string Name = "", string Reference = "")
{
    /// <summary>Parses the part of the path after `/v2/`; throws NAME_INVALID or a 404 for a path that is no route.</summary>
    public static RegistryRoute Parse(string path)
    {
        var trimmed = path.TrimStart('/');
        if (trimmed.Length == 0)
        {
            return new RegistryRoute(RegistryRouteKind.Base);
        }

        if (trimmed is "_catalog")
        {
            return new RegistryRoute(RegistryRouteKind.Catalog);
        }

        if (trimmed is PeerProtocol.CopyPath or PeerProtocol.SweepPath)
        {
            return new RegistryRoute(trimmed is PeerProtocol.CopyPath ? RegistryRouteKind.PeerCopy : RegistryRouteKind.PeerSweep);
        }

        // A trailing slash matters only to the upload start, which the spec writes as `blobs/uploads/`.
        var segments = trimmed.TrimEnd('/').Split('/');
        var n = segments.Length;
        RegistryRoute? route = null;
        if (n >= 3 && segments[n - 2] == "tags" && segments[n - 1] == "list")
        {
            route = new RegistryRoute(RegistryRouteKind.Tags, Join(segments, n - 2));
        }
        else if (n >= 3 && segments[n - 2] == "blobs" && segments[n - 1] == "uploads")
        {
            route = new RegistryRoute(RegistryRouteKind.UploadStart, Join(segments, n - 2));
        }
        else if (n >= 4 && segments[n - 3] == "blobs" && segments[n - 2] == "uploads")
        {
            route = new RegistryRoute(RegistryRouteKind.Upload, Join(segments, n - 3), segments[n - 1]);
        }
        else if (n >= 3 && segments[n - 2] == "blobs")
        {
            route = new RegistryRoute(RegistryRouteKind.Blob, Join(segments, n - 2), segments[n - 1]);
        }
        else if (n >= 3 && segments[n - 2] == "manifests")
        {
            route = new RegistryRoute(RegistryRouteKind.Manifest, Join(segments, n - 2), segments[n - 1]);
        }

        if (route is null)
        {
            throw new RegistryException(StatusCodes.Status404NotFound, RegistryErrorCodes.Unsupported,
                $"/v2/{trimmed} is not a registry route; the API has /v2/<name>/manifests/<reference>, /v2/<name>/blobs/<digest>, /v2/<name>/blobs/uploads/, /v2/<name>/tags/list and /v2/_catalog",
                new { path = "/v2/" + trimmed });
        }

        if (!ImageReference.IsRepositoryPath(route.Name))
        {
            throw RegistryException.NameInvalid(route.Name);
        }

        return route;
    }

    private static string Join(string[] segments, int count) => string.Join('/', segments, 0, count);
}
