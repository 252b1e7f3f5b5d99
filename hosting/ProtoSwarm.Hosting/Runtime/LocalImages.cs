using ProtoSwarm.Containers.Images;
using ProtoSwarm.Containers.Images.Interop;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Hosting.Runtime;

/// <summary>
/// The node's `image` commands, answered from its own image store (STATE/images) whether or not the
/// node is in a swarm. The store is opened on first use, so a node that never sees an image
/// command never creates it.
/// </summary>
internal sealed class LocalImages(string directory) : IDisposable
{
    private readonly Lazy<ImageStore> _store = new(() => new ImageStore(directory));

    public ImageStore Store => _store.Value;

    /// <summary>A container of this node that uses the image (by id), if any: `image rm` decides by it (see <see cref="ImageStore.RemoveAsync"/>).</summary>
    public Func<string, ImageUser?>? UsedBy { get; set; }

    public static bool Handles(object request) => request is LoadImage or SaveImage or ImportImage or ListImages or InspectImage or TagImage or RemoveImage or PruneImages;

    public async Task<object> HandleAsync(object request, CancellationToken ct)
    {
        try
        {
            return request switch
            {
                LoadImage m => await LoadAsync(m, ct),
                SaveImage m => await SaveAsync(m, ct),
                ImportImage m => await ImportAsync(m, ct),
                ListImages => new ImageList([.. (await Store.ListAsync(ct)).Select(ToWire)]),
                InspectImage m => new ImageDetails(ToWire(await Store.InspectAsync(m.ImageRef, ct))),
                TagImage m => new ImageTagged(ToWire(await Store.TagAsync(m.Source, m.Target, ct))),
                RemoveImage m => await RemoveAsync(m, ct),
                PruneImages m => await PruneAsync(m, ct),
                _ => new CommandRejected(RejectCode.InvalidArgument, $"{request.GetType().Name} is not an image command"),
            };
        }
        catch (ImageStoreException e)
        {
            return new CommandRejected(e.Code, e.Message);
        }
        catch (FileSyscallException e)
        {
            return new CommandRejected(RejectCode.Internal, $"the image store at {directory} could not unpack a layer: {e.Message}; the node host needs root (devices, owners and trusted.* xattrs)");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new CommandRejected(RejectCode.Internal, $"the image store at {directory} could not be written: {e.Message}");
        }
    }

    public void Dispose()
    {
        if (_store.IsValueCreated)
        {
            _store.Value.Dispose();
        }
    }

    private async Task<object> LoadAsync(LoadImage m, CancellationToken ct)
    {
        if (Open(m.Path, out var file) is { } rejected)
        {
            return rejected;
        }

        await using (file)
        {
            try
            {
                return new ImageLoaded([.. (await Store.LoadAsync(file!, ct)).Select(ToWire)]);
            }
            catch (ImageStoreException e)
            {
                return new CommandRejected(e.Code, $"{m.Path}: {e.Message}");
            }
        }
    }

    private async Task<object> SaveAsync(SaveImage m, CancellationToken ct)
    {
        if (!Path.IsPathFullyQualified(m.Path))
        {
            return new CommandRejected(RejectCode.InvalidArgument, $"'{m.Path}' is not an absolute path; the node writes the file itself, so give its full path");
        }

        if (m.Images.IsDefaultOrEmpty)
        {
            return new CommandRejected(RejectCode.InvalidArgument, "give at least one image to save");
        }

        var directory = Path.GetDirectoryName(m.Path)!;
        if (!Directory.Exists(directory))
        {
            return new CommandRejected(RejectCode.NotFound, $"failed to save image: invalid output path: directory \"{directory}\" does not exist");
        }

        if (Directory.Exists(m.Path))
        {
            return new CommandRejected(RejectCode.InvalidArgument, $"failed to save image: {m.Path} is a directory; give a file name");
        }

        // Beside the target, then moved in: a save that fails leaves the old file (or none), never half an archive.
        var temp = Path.Combine(directory, $".{Path.GetFileName(m.Path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true))
            {
                await Store.SaveAsync(m.Images, file, ct);
            }

            File.Move(temp, m.Path, overwrite: true);
            return new ImageSaved(new FileInfo(m.Path).Length);
        }
        catch (UnauthorizedAccessException)
        {
            return new CommandRejected(RejectCode.PermissionDenied, $"failed to save image: {directory}: permission denied; the node host cannot write there");
        }
        catch (IOException e)
        {
            return new CommandRejected(RejectCode.Internal, $"failed to save image to {m.Path}: {e.Message}");
        }
        finally
        {
            File.Delete(temp);
        }
    }

    private async Task<object> ImportAsync(ImportImage m, CancellationToken ct)
    {
        if (!string.IsNullOrEmpty(m.NameTag) && !ImageReference.TryParse(m.NameTag, out _, out var error))
        {
            return new CommandRejected(RejectCode.InvalidArgument, error);
        }

        if (Open(m.Path, out var file) is { } rejected)
        {
            return rejected;
        }

        await using (file)
        {
            try
            {
                return new ImageImported(ToWire(await Store.ImportAsync(file!, m.NameTag, ct)));
            }
            catch (ImageStoreException e)
            {
                return new CommandRejected(e.Code, $"{m.Path}: {e.Message}");
            }
        }
    }

    private async Task<object> RemoveAsync(RemoveImage m, CancellationToken ct)
    {
        var usedBy = UsedBy;
        var removal = await Store.RemoveAsync(m.ImageRef, m.Force, usedBy is null ? null : image => usedBy(image.Id), ct);
        return new ImageRemoved(removal.Untagged, removal.Deleted);
    }

    private async Task<object> PruneAsync(PruneImages m, CancellationToken ct)
    {
        var usedBy = UsedBy;
        var pruned = await Store.PruneAsync(m.ImageIds.IsDefault ? [] : m.ImageIds, m.All, usedBy is null ? null : image => usedBy(image.Id), ct);
        return new ImagesPruned(pruned.Untagged, pruned.Deleted, pruned.Reclaimed);
    }

    private static CommandRejected? Open(string path, out FileStream? file)
    {
        file = null;
        if (!Path.IsPathFullyQualified(path))
        {
            return new CommandRejected(RejectCode.InvalidArgument, $"'{path}' is not an absolute path; the node reads the file itself, so give its full path");
        }

        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, useAsync: true);
            return null;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return new CommandRejected(RejectCode.NotFound, $"open {path}: no such file; check the path");
        }
        catch (UnauthorizedAccessException)
        {
            return new CommandRejected(RejectCode.PermissionDenied, $"open {path}: permission denied; the node host cannot read it");
        }
        catch (IOException e)
        {
            return new CommandRejected(RejectCode.InvalidArgument, $"open {path}: {e.Message}");
        }
    }

    internal static ImageObject ToWire(StoredImage image) => new(
        image.Id,
        image.ManifestDigest,
        image.RepoTags,
        image.Created,
        image.Size,
        image.Config.Architecture,
        image.Config.Os,
        image.Config.Entrypoint,
        image.Config.Cmd,
        image.Config.Env,
        image.Config.WorkingDir,
        image.Config.User,
        image.Config.ExposedPorts,
        image.Config.Labels,
        image.Config.StopSignal,
        image.Config.Healthcheck is { } h ? new ImageHealthcheckSpec(h.Test, h.Interval, h.Timeout, h.StartPeriod, h.Retries, h.StartInterval) : null,
        [.. image.Layers.Select(l => l.DiffId)],
        image.RepoDigests,
        image.Config.Volumes);
}
