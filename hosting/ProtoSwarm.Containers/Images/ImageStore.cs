using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text.Json;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Containers.Images;

/// <summary>How much the store holds: images, unpacked layers and blobs, in bytes.</summary>
public sealed record ImageStoreUsage(int Images, int Layers, long LayersSize, long BlobsSize);

/// <summary>
/// A container that uses an image, for `image rm`: its id, and whether it runs (its root is then mounted
/// from the image's layers, so the image is never deleted; a stopped one gives way to -f, as docker's).
/// </summary>
public sealed record ImageUser(string ContainerId, bool Running);

/// <summary>
/// The node's images, under one directory (the node's STATE/images):
/// <c>blobs/sha256/HEX</c> content-addressed blobs (manifests, configs, layers as they came),
/// <c>layers/HEX</c> each layer unpacked once, keyed by its diff id and shared by every image that
/// has it, <c>index.json</c> the images, their names (full name to manifest digest) and their digest
/// references (`docker.io/library/busybox@sha256:...`, the digest a registry knows the image by in a
/// repository it was pulled from or pushed to, to manifest digest: docker's RepoDigests),
/// <c>tmp/</c> where a load is staged, and <c>downloads/</c> where a pull writes blobs as they come
/// (kept across restarts, so a broken download resumes where it stopped). Everything is checked before anything is moved in: a
/// digest mismatch, a path leaving a layer or an unknown format refuses the whole load and leaves
/// the store as it was.
/// <para>
/// Every operation runs under one gate, but reading an image's blobs out of the store does not: a save
/// (<see cref="SaveAsync"/>) or an export (<see cref="ExportAsync"/>) pins the blobs it will read under
/// the gate, releases the gate, reads, then unpins (<see cref="BlobLease"/>), as containerd's leases and
/// docker's layer references keep content a reader holds. So a slow reader holds up no other operation,
/// and a removal meanwhile takes the image out of the index at once but leaves its pinned blob files;
/// each is deleted when its last pin goes, unless an image (a pull or load of the same one) refers to it again.
/// A pull holds the blobs it needs the same way (<see cref="LeaseAsync"/>) from before it looks which it
/// has until it has stored its image, so a blob it skips downloading cannot go under it.
/// </para>
/// </summary>
public sealed class ImageStore : IDisposable
{
    private const string IndexFile = "index.json";
    private static readonly JsonSerializerOptions IndexJson = new() { WriteIndented = true };

    private readonly string _root;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Under the gate: how many readers hold each blob (by its hex digest), so no collection deletes it under them.</summary>
    private readonly Dictionary<string, int> _pins = new(StringComparer.Ordinal);
    private IndexModel _index;

    public ImageStore(string root, TimeProvider? time = null)
    {
        _root = Path.GetFullPath(root);
        _time = time ?? TimeProvider.System;
        Directory.CreateDirectory(BlobsDir);
        Directory.CreateDirectory(LayersDir);
        // A load that died half way left only staging files: drop them.
        if (Directory.Exists(TmpDir))
        {
            Directory.Delete(TmpDir, recursive: true);
        }

        Directory.CreateDirectory(TmpDir);
        Directory.CreateDirectory(DownloadsDir);
        _index = ReadIndex();
    }

    public string Root => _root;

    public void Dispose() => _gate.Dispose();

    private string BlobsDir => Path.Combine(_root, "blobs", "sha256");

    private string LayersDir => Path.Combine(_root, "layers");

    private string TmpDir => Path.Combine(_root, "tmp");

    private string DownloadsDir => Path.Combine(_root, "downloads");

    /// <summary>Loads a `docker save` archive or an OCI image layout tar (plain or gzip); returns the images it held.</summary>
    public async Task<IReadOnlyList<StoredImage>> LoadAsync(Stream archive, CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct);
        try
        {
            using var staging = await Staging.ReadAsync(archive, NewTemp("load"), ct);
            IReadOnlyList<PlannedImage> plan;
            try
            {
                plan = ArchiveReader.Plan(staging);
            }
            catch (Exception e) when (e is InvalidOperationException or KeyNotFoundException or FormatException)
            {
                throw ImageStoreException.Corrupt($"the archive's metadata has an unexpected shape ({e.Message}); it is corrupt or not made by `docker save` or an OCI tool");
            }

            return await CommitAsync(plan, ct);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>`docker import`: one layer from a root filesystem tar (plain or gzip), a minimal config, named <paramref name="nameTag"/> (empty for none).</summary>
    public async Task<StoredImage> ImportAsync(Stream rootfsTar, string nameTag, CancellationToken ct = default)
    {
        var names = string.IsNullOrEmpty(nameTag) ? [] : new List<ImageReference> { ImageStoreException.ParseName(nameTag) };
        await _gate.WaitAsync(ct);
        var temp = NewTemp("import");
        Directory.CreateDirectory(temp);
        try
        {
            var blobPath = Path.Combine(temp, "layer");
            StagedFile blob;
            await using (var file = new FileStream(blobPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true))
            {
                var (digest, size) = await Staging.CopyHashingAsync(rootfsTar, file, ct);
                blob = new StagedFile(blobPath, digest, size);
            }

            var diffId = await DiffIdAsync(blob, ct);
            var now = _time.GetUtcNow().ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", System.Globalization.CultureInfo.InvariantCulture);
            var config = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
            {
                ["architecture"] = "amd64",
                ["os"] = "linux",
                ["created"] = now,
                ["config"] = new Dictionary<string, object>(),
                ["rootfs"] = new Dictionary<string, object> { ["type"] = "layers", ["diff_ids"] = new[] { diffId } },
                ["history"] = new[] { new Dictionary<string, string> { ["created"] = now, ["created_by"] = "protoswarm image import", ["comment"] = "Imported from a root filesystem tar" } },
            });
            var parsed = ImageConfig.Parse(config, "the import's config");
            var layerType = blob.Size >= 2 && IsGzipFile(blob.Path) ? ArchiveReader.LayerGzip : ArchiveReader.LayerTar;
            var stored = await CommitAsync([new PlannedImage(config, Sha256(config), parsed, null, [new PlannedLayer(blob, layerType, string.Empty)], names)], ct);
            return stored[0];
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
            _gate.Release();
        }
    }

    public async Task<IReadOnlyList<StoredImage>> ListAsync(CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct);
        try
        {
            return [.. _index.Images.GroupBy(i => i.Config, StringComparer.Ordinal).Select(g => Describe(Representative(g))).OrderByDescending(i => i.Created)];
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// An image by name (`busybox`, `busybox:1.36`), id or id prefix, or manifest digest; a pinned
    /// reference (`busybox:1.36@sha256:...`) finds the image with that manifest digest, whatever its names.
    /// </summary>
    public async Task<StoredImage> InspectAsync(string reference, CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct);
        try
        {
            return Describe(Resolve(reference).Entries[0]);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Whether <paramref name="name"/> is one of the names of an image here; an id, an id prefix or a
    /// digest never is. `docker push` sends what a name tags, so an id typed where a name belongs must not
    /// fall back to the image it identifies: it would be pushed to a repository spelled like the id.
    /// </summary>
    public async Task<bool> IsNamedAsync(ImageReference name, CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct);
        try
        {
            return _index.Names.ContainsKey(name.FullName);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// What a push of the image needs: its manifest as stored (so the registry's digest is the one this
    /// node knows the image by), its media type, and the paths of its config and layer blobs. The files
    /// stay where they are, pinned until the caller disposes the answer: a removal of the image meanwhile
    /// takes it out of the index at once, and its blob files only when the answer is disposed.
    /// </summary>
    public async Task<ImageBlobs> ExportAsync(string reference, CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct);
        try
        {
            var entry = Resolve(reference).Entries[0];
            var manifest = File.ReadAllBytes(BlobPath(entry.Manifest));
            var where = $"the stored manifest {entry.Manifest} of image {Short(entry.Config)}";
            var parsed = ImageManifest.Parse(manifest, MediaTypes.Of(manifest, null), where);
            ImageBlob Blob(BlobDescriptor d)
            {
                var path = BlobPath(d.Digest);
                return File.Exists(path)
                    ? new ImageBlob(d.Digest, d.MediaType, d.Size, path)
                    : throw new ImageStoreException(RejectCode.Internal, $"{where}: its blob {d.Digest} is missing from {BlobsDir}; remove the image and load it again");
            }

            var config = Blob(parsed.Config);
            ImmutableArray<ImageBlob> layers = [.. parsed.Layers.Select(Blob)];
            return new ImageBlobs(Describe(entry), parsed.MediaType, manifest, config, layers)
            {
                Lease = Pin(layers.Select(l => l.Digest).Prepend(config.Digest).Prepend(entry.Manifest)),
            };
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// `docker save`: writes the images <paramref name="references"/> name to <paramref name="output"/> as
    /// docker 25 does (<see cref="ImageArchiveWriter"/>), each manifest, config and layer blob as stored, so
    /// a load gives back the same image ids. Which names come along is docker's rule: NAME:TAG that tag; a
    /// repository without a tag every tag of it; an id or a digest reference the image with no name.
    /// The images are resolved and their blobs pinned under the gate; the archive (often hundreds of MB,
    /// to a stream that may be slow) is written outside it, so every other operation goes on meanwhile, and
    /// an image removed during the save is still written whole (its blob files go when the save ends).
    /// </summary>
    public async Task SaveAsync(IReadOnlyList<string> references, Stream output, CancellationToken ct = default)
    {
        var (saved, manifests, lease) = await PinSaveAsync(references, ct);
        await using (lease)
        {
            await ImageArchiveWriter.WriteAsync(output, saved, manifests, BlobPath, _time.GetUtcNow(), ct);
        }
    }

    /// <summary>What <see cref="SaveAsync"/> writes, resolved under the gate, with its blobs pinned.</summary>
    private async Task<(List<SavedImage> Images, List<SavedManifest> Manifests, BlobLease Lease)> PinSaveAsync(IReadOnlyList<string> references, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            // Each image (config) once, in the order asked for, with the names it is saved under and the
            // manifest each name points at.
            var images = new List<(ImageEntry Entry, List<(string FullName, ImageEntry Manifest)> Names)>();
            void Add(ImageEntry entry, string? fullName)
            {
                var at = images.FindIndex(i => i.Entry.Config == entry.Config);
                if (at < 0)
                {
                    images.Add((entry, []));
                    at = images.Count - 1;
                }

                if (fullName is not null && !images[at].Names.Any(n => n.FullName == fullName))
                {
                    images[at].Names.Add((fullName, entry));
                }
            }

            foreach (var reference in references)
            {
                var text = reference.Trim();
                if (!text.Contains('@', StringComparison.Ordinal) && !ImageReference.HasTag(text) && ImageReference.TryParse(text, out var repository, out _))
                {
                    var prefix = $"{repository.Domain}/{repository.Path}:";
                    var tagged = _index.Names.Where(n => n.Key.StartsWith(prefix, StringComparison.Ordinal)).OrderBy(n => n.Key, StringComparer.Ordinal).ToList();
                    if (tagged.Count > 0)
                    {
                        foreach (var (name, manifest) in tagged)
                        {
                            Add(_index.Images.Single(i => i.Manifest == manifest), name);
                        }

                        continue;
                    }
                }

                var (entries, byName) = Resolve(text);
                Add(entries[0], byName?.FullName);
            }

            var saved = new List<SavedImage>();
            var manifests = new List<SavedManifest>();
            foreach (var (entry, names) in images)
            {
                saved.Add(new SavedImage(entry.Config, [.. entry.Layers.Select(l => l.Digest)], [.. names.Select(n => Familiar(n.FullName))]));
                foreach (var (fullName, manifest) in names.DefaultIfEmpty((null!, entry)))
                {
                    var bytes = File.ReadAllBytes(BlobPath(manifest.Manifest));
                    var tag = fullName is null ? null : ImageReference.Parse(fullName).Tag;
                    manifests.Add(new SavedManifest(manifest.Manifest, MediaTypes.Of(bytes, null), bytes.Length, fullName, tag));
                }

                var missing = entry.Layers.Select(l => l.Digest).Prepend(entry.Config).Prepend(entry.Manifest).FirstOrDefault(d => !File.Exists(BlobPath(d)));
                if (missing is not null)
                {
                    throw new ImageStoreException(RejectCode.Internal, $"image {Short(entry.Config)}: its blob {missing} is missing from {BlobsDir}; remove the image and load it again");
                }
            }

            return (saved, manifests, Pin(manifests.Select(m => m.Digest).Concat(saved.SelectMany(i => i.LayerDigests.Prepend(i.ConfigDigest)))));
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Stores an image pulled from a registry: the manifest exactly as served (so the manifest digest on
    /// this node is the registry's), its config, and its layer blobs, each taken from the store when it
    /// has it, else from <paramref name="downloaded"/> (blob digest to a file under <see cref="DownloadPath"/>,
    /// moved in). The manifest and config are checked against each other here and every layer's diff id
    /// against the config as it is unpacked, so a layer blob the caller did not hash cannot get in under a
    /// wrong name either. <paramref name="names"/> (never pinned) are pointed at the image, and so are
    /// <paramref name="digests"/> (always pinned: the repository and the digest the registry answered the
    /// pull with, kept as docker keeps a pulled image's RepoDigests, with no tag).
    /// </summary>
    public async Task<StoredImage> AddPulledAsync(
        byte[] manifest,
        string mediaType,
        byte[] config,
        IReadOnlyDictionary<string, string> downloaded,
        IReadOnlyList<ImageReference> names,
        IReadOnlyList<ImageReference>? digests = null,
        CancellationToken ct = default)
    {
        digests ??= [];
        var manifestDigest = Sha256(manifest);
        var where = $"manifest {manifestDigest}";
        var parsed = ImageManifest.Parse(manifest, mediaType, where);
        var configDigest = Sha256(config);
        if (configDigest != parsed.Config.Digest || config.Length != parsed.Config.Size)
        {
            throw ImageStoreException.Corrupt($"{where}: it names config {parsed.Config.Digest} ({parsed.Config.Size} bytes) but the config given hashes to {configDigest} ({config.Length} bytes); nothing was stored, pull again");
        }

        var image = ImageConfig.Parse(config, configDigest);
        if (names.FirstOrDefault(n => n.IsPinned) is { } pinned)
        {
            throw new ImageStoreException(RejectCode.InvalidArgument, $"'{pinned}': an image is stored under NAME[:TAG], never a digest");
        }

        if (digests.FirstOrDefault(d => !d.IsPinned) is { } unpinned)
        {
            throw new ArgumentException($"'{unpinned}': a digest reference needs a digest", nameof(digests));
        }

        await _gate.WaitAsync(ct);
        try
        {
            var layers = new List<PlannedLayer>();
            foreach (var (layer, i) in parsed.Layers.Select((l, i) => (l, i)))
            {
                // A blob another image brought in since the caller looked is taken from the store, and a
                // download moved in by an earlier pull of the same blob is found there too.
                var path = File.Exists(BlobPath(layer.Digest)) ? BlobPath(layer.Digest)
                    : downloaded.TryGetValue(layer.Digest, out var file) && File.Exists(file) ? file
                    : throw new ImageStoreException(RejectCode.NotFound, $"{where}: layer {i + 1} ({layer.Digest}) was neither downloaded nor in the store (an image removed while this one was pulled?); pull again");
                var size = new FileInfo(path).Length;
                if (size != layer.Size)
                {
                    throw ImageStoreException.Corrupt($"{where}: layer {i + 1} ({layer.Digest}) should be {layer.Size} bytes but {path} has {size}; nothing was stored, pull again");
                }

                layers.Add(new PlannedLayer(new StagedFile(path, layer.Digest, size), layer.MediaType, string.Empty));
            }

            var stored = await CommitAsync([new PlannedImage(config, configDigest, image, manifest, layers, names)], ct);
            if (digests.Count > 0)
            {
                var refs = new Dictionary<string, string>(_index.Digests, StringComparer.Ordinal);
                foreach (var digest in digests)
                {
                    refs[DigestKey(digest)] = manifestDigest;
                }

                _index = _index with { Digests = refs };
                WriteIndex();
                stored = [Describe(_index.Images.Single(i => i.Manifest == manifestDigest))];
            }

            foreach (var file in downloaded.Values.Where(File.Exists))
            {
                if (Path.GetDirectoryName(Path.GetFullPath(file)) == DownloadsDir && HasBlob("sha256:" + Path.GetFileNameWithoutExtension(file)))
                {
                    File.Delete(file); // a second copy of a blob that is in the store now
                }
            }

            return stored[0];
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// The image id <paramref name="reference"/> points to here, or null: a name by its tag, a pinned
    /// reference by its repository and digest (its tag, if any, is not looked at, as docker keeps only the
    /// digest of a reference that has both). A pull compares it before and after, as docker does to say
    /// "Downloaded newer image" only when the reference now points somewhere new.
    /// </summary>
    public async Task<string?> ImageIdOfAsync(ImageReference reference, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(reference);
        await _gate.WaitAsync(ct);
        try
        {
            var manifest = reference.IsPinned
                ? _index.Digests.GetValueOrDefault(DigestKey(reference))
                : _index.Names.GetValueOrDefault(reference.FullName);
            return manifest is null ? null : _index.Images.FirstOrDefault(i => i.Manifest == manifest)?.Config;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Records that the manifest <paramref name="manifest"/> is known to a registry as <paramref name="pinned"/>
    /// (`busybox@sha256:...`, after a push or a pull answered from the store): one of the image's RepoDigests.
    /// Nothing happens when the manifest has gone meanwhile.
    /// </summary>
    public async Task AddDigestAsync(ImageReference pinned, string manifest, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(pinned);
        if (!pinned.IsPinned)
        {
            throw new ArgumentException($"'{pinned}': a digest reference needs a digest", nameof(pinned));
        }

        await _gate.WaitAsync(ct);
        try
        {
            var key = DigestKey(pinned);
            if (_index.Images.Any(i => i.Manifest == manifest) && _index.Digests.GetValueOrDefault(key) != manifest)
            {
                _index = _index with { Digests = new Dictionary<string, string>(_index.Digests, StringComparer.Ordinal) { [key] = manifest } };
                WriteIndex();
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// `docker image tag SOURCE TARGET`: <paramref name="target"/> becomes one more name of the image
    /// <paramref name="source"/> finds (a name, id, id prefix or digest), sharing its manifest and layers;
    /// nothing is copied. A target that named another image moves here, as docker's, and that image stays
    /// (nameless, `&lt;none&gt;`, if it had no other name). The target is a name, never a digest.
    /// </summary>
    public async Task<StoredImage> TagAsync(string source, string target, CancellationToken ct = default)
    {
        if (!ImageReference.TryParse(target.Trim(), out var name, out var error))
        {
            throw new ImageStoreException(RejectCode.InvalidArgument,
                target.Contains('@', StringComparison.Ordinal)
                    ? $"refusing to create a tag with a digest reference ('{target}'); give the target as NAME[:TAG]"
                    : $"Error parsing reference: {error}");
        }

        await _gate.WaitAsync(ct);
        try
        {
            var entry = Resolve(source).Entries[0];
            if (_index.Names.GetValueOrDefault(name.FullName) != entry.Manifest)
            {
                _index = _index with { Names = new Dictionary<string, string>(_index.Names, StringComparer.Ordinal) { [name.FullName] = entry.Manifest } };
                WriteIndex();
            }

            return Describe(entry);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// The registry repositories (`library/busybox`) known to hold the blob <paramref name="digest"/>: those of
    /// the digest references (recorded by a push or a pull) of every image whose config or layers it is. A push
    /// asks the registry to mount the blob from one of them rather than send it again, as docker does with
    /// what its push and pull remember of where each blob came from.
    /// </summary>
    public async Task<IReadOnlyList<string>> RepositoriesWithBlobAsync(string digest, CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct);
        try
        {
            var manifests = _index.Images.Where(i => i.Config == digest || i.Layers.Any(l => l.Digest == digest))
                .Select(i => i.Manifest).ToHashSet(StringComparer.Ordinal);
            return [.. _index.Digests.Where(d => manifests.Contains(d.Value)).Select(d => ImageReference.Parse(d.Key, allowDigest: true).Path)
                .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Whether the store holds a blob (a manifest, config or layer) at this moment: an answer, not a hold. An
    /// image removed right after may take the blob with it, so a caller that goes on to use the blob (a pull
    /// that skips its download) asks <see cref="BlobLease.Holds"/> of a lease (<see cref="LeaseAsync"/>) instead.
    /// </summary>
    public bool HasBlob(string digest) => File.Exists(BlobPath(digest));

    /// <summary>
    /// Holds the blobs <paramref name="digests"/> for a pull until it has stored its image or given up, as a
    /// containerd lease holds the content a pull refers to: pinned under the gate, those in the store now
    /// and those that come in while the lease lasts (a download another pull moves in) stay until it is
    /// disposed, whatever `image rm`, or the end of a save or push that pinned them, does meanwhile. The
    /// lease's <see cref="BlobLease.Holds"/> tells which are in the store (so need no download); a blob that is
    /// not is fetched. When the lease is disposed, a blob no image refers to (the pull failed, and its image
    /// was removed) is deleted; one the pulled image refers to stays. The gate is held only to count the pins.
    /// </summary>
    public async Task<BlobLease> LeaseAsync(IEnumerable<string> digests, CancellationToken ct = default)
    {
        List<string> given = [.. digests];
        await _gate.WaitAsync(ct);
        try
        {
            return Pin(given);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Where a pull downloads a blob before it is stored: <c>downloads/HEX.partial</c>, kept across restarts
    /// (unlike tmp/), so the next attempt resumes from the bytes already there.
    /// </summary>
    public string DownloadPath(string digest) => Path.Combine(DownloadsDir, Hex(digest) + ".partial");

    /// <summary>
    /// `docker rmi`. An image is its config (its id), and several manifests may hold one config (the same
    /// image loaded from an OCI layout and from a `docker save` archive), each with names of its own; like
    /// docker, removal counts the names of the image, not of the manifest. A name is untagged, and the
    /// image deleted only when that was the last name of the image, so untagging needs no force while the
    /// image keeps another name, even one a task uses. An id deletes the image (refused when it has several
    /// names, unless forced); a manifest digest removes that manifest, and the image only with its last
    /// manifest. Deleting an image a container uses (<paramref name="usedBy"/>) is refused unless forced,
    /// and an image a RUNNING container uses is never deleted, as docker's: its root is mounted from the
    /// image's layers, which would vanish under it. Forced, by name, its last name is only untagged (the
    /// image stays, nameless, with its layers); by id or digest it is refused even forced ("cannot be
    /// forced"). Layers and blobs no image uses any more are deleted; blobs another manifest shares stay.
    /// What comes back is only what went: no image id is reported deleted while a manifest still holds it.
    /// </summary>
    public async Task<ImageRemoval> RemoveAsync(string reference, bool force, Func<StoredImage, ImageUser?>? usedBy = null, CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct);
        try
        {
            var (entries, byName) = Resolve(reference);
            if (byName is null && !force)
            {
                RefuseSeveralNames(entries);
            }

            List<string> untagged = byName is not null ? [byName.FullName] : [.. entries.SelectMany(NamesOf)];
            var names = new Dictionary<string, string>(_index.Names, StringComparer.Ordinal);
            foreach (var name in untagged)
            {
                names.Remove(name);
            }

            var refs = new Dictionary<string, string>(_index.Digests, StringComparer.Ordinal);
            var undigested = byName is not null ? DigestsGoingWithName(entries[0], byName, names) : [.. entries.SelectMany(DigestsOf)];
            foreach (var digest in undigested)
            {
                refs.Remove(digest);
            }

            var dropped = byName is not null
                ? ManifestsGoingWithName(entries[0], [.. names.Values, .. refs.Values])
                : entries.Select(e => e.Manifest).ToHashSet(StringComparer.Ordinal);
            var remaining = _index.Images.Where(i => !dropped.Contains(i.Manifest)).ToList();
            var deleted = _index.Images.Where(i => dropped.Contains(i.Manifest)).Select(i => i.Config).Distinct(StringComparer.Ordinal)
                .Where(config => remaining.All(i => i.Config != config)).ToList();
            var users = usedBy is null ? [] : Users(deleted, usedBy);
            if (users.Count > 0 && (!force || users[0].User.Running))
            {
                RefuseInUse(users, byName?.Familiar ?? reference, force, byName is not null);
                // By name and forced, with a running container: docker's `rmi -f` untags and keeps the image.
                _index = new IndexModel(_index.Images, names, refs);
                WriteIndex();
                return new ImageRemoval([.. untagged.Select(Familiar), .. undigested.Select(FamiliarDigest)], []);
            }

            _index = new IndexModel(remaining, names, WithManifests(refs, remaining));
            WriteIndex();
            return new ImageRemoval([.. untagged.Select(Familiar), .. undigested.Select(FamiliarDigest)], [.. deleted, .. CollectGarbage()]);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// `docker image prune [-a]`: deletes each image of <paramref name="ids"/> (image ids, as the CLI chose them from a
    /// listing by its filters) that is still here, that no container of this node uses (<paramref name="usedBy"/>, a stopped
    /// one too, as docker's prune never deletes an image a container has) and, without <paramref name="all"/>, that is still
    /// dangling (no tag: a digest reference alone does not keep an image, as docker's). Checked again here under the store's
    /// gate, so an image tagged, or taken by a container, since the listing stays. Each goes with every name and digest
    /// reference it has; layers and blobs no image uses any more go with them (a pull's pinned blobs stay until it ends).
    /// <see cref="ImageRemoval.Reclaimed"/> is what the disk got back: unpacked layers and blobs deleted.
    /// </summary>
    public async Task<ImageRemoval> PruneAsync(IReadOnlyCollection<string> ids, bool all, Func<StoredImage, ImageUser?>? usedBy = null, CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct);
        try
        {
            var wanted = ids.ToHashSet(StringComparer.Ordinal);
            var gone = _index.Images.Select(i => i.Config).Where(wanted.Contains).Distinct(StringComparer.Ordinal)
                .Select(config => Describe(Representative(_index.Images.Where(i => i.Config == config))))
                .Where(image => (all || image.RepoTags.IsEmpty) && usedBy?.Invoke(image) is null)
                .Select(image => image.Id)
                .ToHashSet(StringComparer.Ordinal);
            if (gone.Count == 0)
            {
                return new ImageRemoval([], []);
            }

            var manifests = _index.Images.Where(i => gone.Contains(i.Config)).Select(i => i.Manifest).ToHashSet(StringComparer.Ordinal);
            var names = _index.Names.Where(n => manifests.Contains(n.Value)).Select(n => n.Key).Order(StringComparer.Ordinal).ToList();
            var digests = _index.Digests.Where(d => manifests.Contains(d.Value)).Select(d => d.Key).Order(StringComparer.Ordinal).ToList();
            var layerSizes = LayerSizes();
            _index = new IndexModel(
                [.. _index.Images.Where(i => !manifests.Contains(i.Manifest))],
                _index.Names.Where(n => !manifests.Contains(n.Value)).ToDictionary(StringComparer.Ordinal),
                _index.Digests.Where(d => !manifests.Contains(d.Value)).ToDictionary(StringComparer.Ordinal));
            WriteIndex();
            var layers = CollectGarbage(out var blobBytes);
            return new ImageRemoval([.. names.Select(Familiar), .. digests.Select(FamiliarDigest)], [.. gone.Order(StringComparer.Ordinal), .. layers])
            {
                Reclaimed = blobBytes + layers.Sum(l => layerSizes.GetValueOrDefault(l)),
            };
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The unpacked size of each layer the index knows, by diff id.</summary>
    private Dictionary<string, long> LayerSizes() =>
        _index.Images.SelectMany(i => i.Layers).GroupBy(l => l.DiffId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().Size, StringComparer.Ordinal);

    /// <summary>An image removed by id or digest loses every name: with more than one, that needs force (docker's rule).</summary>
    private void RefuseSeveralNames(IReadOnlyList<ImageEntry> entries)
    {
        var names = entries.SelectMany(NamesOf).Distinct(StringComparer.Ordinal).ToList();
        if (names.Count > 1)
        {
            throw new ImageStoreException(RejectCode.Conflict,
                $"conflict: unable to delete {Short(entries[0].Config)} (must be forced) - image is referenced in multiple repositories ({string.Join(", ", names.Select(Familiar))}); remove it by name, or give -f");
        }
    }

    /// <summary>
    /// The digest references that go when the image of <paramref name="entry"/> loses the name
    /// <paramref name="name"/> (<paramref name="names"/> is the index's names without it): those of the
    /// image in the name's repository, once the image has no tag left there, as docker's `rmi` cleans up
    /// a repository's digest references with its last tag (so `rmi busybox` of a pulled busybox deletes
    /// it instead of leaving a `busybox &lt;none&gt;` row).
    /// </summary>
    private List<string> DigestsGoingWithName(ImageEntry entry, ImageReference name, Dictionary<string, string> names)
    {
        var manifests = ManifestsOf(entry.Config);
        var repository = $"{name.Domain}/{name.Path}";
        bool InRepository(string key, char separator) => key.StartsWith(repository + separator, StringComparison.Ordinal);
        return names.Any(n => manifests.Contains(n.Value) && InRepository(n.Key, ':'))
            ? []
            : [.. _index.Digests.Where(d => manifests.Contains(d.Value) && InRepository(d.Key, '@')).Select(d => d.Key)];
    }

    /// <summary>
    /// The manifests that go when <paramref name="entry"/> loses a name (<paramref name="referenced"/> are
    /// the manifests the index's names and digest references still point to without it): none while the
    /// manifest keeps another reference; the manifest alone when the image keeps one through another
    /// manifest, as docker drops a repository's digest references with its last tag (kept, it would be an
    /// unreachable copy of an image that is not dangling); every manifest of the image when that was the
    /// image's last reference.
    /// </summary>
    private HashSet<string> ManifestsGoingWithName(ImageEntry entry, IEnumerable<string> referenced)
    {
        var named = referenced.ToHashSet(StringComparer.Ordinal);
        if (named.Contains(entry.Manifest))
        {
            return new HashSet<string>(StringComparer.Ordinal);
        }

        var image = _index.Images.Where(i => i.Config == entry.Config).Select(i => i.Manifest).ToList();
        return image.Any(named.Contains)
            ? new HashSet<string>([entry.Manifest], StringComparer.Ordinal)
            : image.ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>
    /// The containers using the images whose content would go, a running one first: untagging one name of
    /// an image a task uses leaves the task its image, so only <paramref name="deletedConfigs"/> are asked about.
    /// </summary>
    private List<(string Config, ImageUser User)> Users(IReadOnlyList<string> deletedConfigs, Func<StoredImage, ImageUser?> usedBy) =>
        [.. deletedConfigs
            .Select(config => (Config: config, User: usedBy(Describe(_index.Images.First(i => i.Config == config)))))
            .Where(u => u.User is not null)
            .Select(u => (u.Config, u.User!))
            .OrderByDescending(u => u.Item2.Running)];

    /// <summary>
    /// Refuses a removal that would delete an image a container uses, in docker's words: by id or digest with
    /// a running container, even forced ("cannot be forced"); otherwise unless forced. Returns only for a
    /// forced removal by name of an image a running container uses, which then only untags.
    /// </summary>
    private static void RefuseInUse(List<(string Config, ImageUser User)> users, string asked, bool force, bool byName)
    {
        var (config, user) = users[0];
        if (user.Running && !byName)
        {
            throw new ImageStoreException(RejectCode.Conflict,
                $"conflict: unable to delete {Short(config)} (cannot be forced) - image is being used by running container {ShortId(user.ContainerId)}");
        }

        if (!force)
        {
            var state = user.Running ? "running" : "stopped";
            var hint = user.Running ? "remove the service first, or give -f to only untag it while the container runs" : "remove the service first, or give -f";
            throw new ImageStoreException(RejectCode.Conflict,
                $"conflict: unable to remove {asked} (must force) - image {Short(config)} is used by a task on this node ({state} container {ShortId(user.ContainerId)}); {hint}");
        }
    }

    private static string ShortId(string id) => id.Length > 12 ? id[..12] : id;

    /// <summary>
    /// The image's unpacked layer directories, lowest (the base) first. Overlayfs lists lowerdir
    /// uppermost first, so a mount joins these reversed: <c>lowerdir=string.Join(':', RootLayers(i).Reverse())</c>.
    /// </summary>
    public IReadOnlyList<string> RootLayers(StoredImage image) => [.. image.Layers.Select(l => LayerPath(l.DiffId))];

    /// <summary>The directory a layer is unpacked in, by its diff id.</summary>
    public string LayerPath(string diffId) => Path.Combine(LayersDir, Hex(diffId));

    /// <summary>The path of a blob, by its digest.</summary>
    public string BlobPath(string digest) => Path.Combine(BlobsDir, Hex(digest));

    public async Task<ImageStoreUsage> UsageAsync(CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct);
        try
        {
            var layers = _index.Images.SelectMany(i => i.Layers).DistinctBy(l => l.DiffId).ToList();
            var blobs = Directory.EnumerateFiles(BlobsDir).Sum(f => new FileInfo(f).Length);
            return new ImageStoreUsage(_index.Images.Count, layers.Count, layers.Sum(l => l.Size), blobs);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<IReadOnlyList<StoredImage>> CommitAsync(IReadOnlyList<PlannedImage> plan, CancellationToken ct)
    {
        // 1. Every layer's diff id, checked against its config; new layers unpacked into temporary directories.
        var unpacked = new Dictionary<string, (string Temp, long Size)>(StringComparer.Ordinal);
        var sizes = LayerSizes();
        var entries = new List<ImageEntry>();
        try
        {
            foreach (var image in plan)
            {
                if (image.Parsed.DiffIds.Length != image.Layers.Count)
                {
                    throw ImageStoreException.Corrupt($"image {Short(image.ConfigDigest)}: its config lists {image.Parsed.DiffIds.Length} layers (rootfs.diff_ids) but its manifest {image.Layers.Count}; the archive is corrupt");
                }

                if (image.Parsed.Os is { Length: > 0 } os && os != "linux")
                {
                    throw ImageStoreException.Corrupt($"image {Short(image.ConfigDigest)} is for {os}; this node runs linux images");
                }

                var layers = new List<LayerEntry>();
                for (var i = 0; i < image.Layers.Count; i++)
                {
                    var layer = image.Layers[i];
                    var expected = image.Parsed.DiffIds[i];
                    string diffId;
                    if (sizes.ContainsKey(expected) || unpacked.ContainsKey(expected))
                    {
                        diffId = await DiffIdAsync(layer.Blob, ct);
                    }
                    else
                    {
                        var temp = NewTemp("layer");
                        unpacked[expected] = (temp, 0);
                        (diffId, var size) = await UnpackAsync(layer.Blob, temp, Short(expected), ct);
                        unpacked[expected] = (temp, size);
                    }

                    if (diffId != expected)
                    {
                        throw ArchiveReader.Mismatch($"layer {i + 1} of image {Short(image.ConfigDigest)} ({layer.Blob.Digest})", expected, diffId);
                    }

                    layers.Add(new LayerEntry(layer.Blob.Digest, diffId, layer.MediaType, layer.Blob.Size, sizes.TryGetValue(diffId, out var s) ? s : unpacked[diffId].Size));
                }

                var manifest = image.Manifest ?? MakeManifest(image.Config, image.ConfigDigest, layers);
                entries.Add(new ImageEntry(Sha256(manifest), image.ConfigDigest, layers, _time.GetUtcNow()));
            }
        }
        catch
        {
            foreach (var (temp, _) in unpacked.Values)
            {
                DeleteTree(temp);
            }

            throw;
        }

        // 2. All checked: move layers and blobs in, then write the index that names them.
        foreach (var (diffId, (temp, _)) in unpacked)
        {
            var target = LayerPath(diffId);
            if (Directory.Exists(target))
            {
                DeleteTree(target); // left by a removal that died before its index was written
            }

            Directory.Move(temp, target);
        }

        var names = new Dictionary<string, string>(_index.Names, StringComparer.Ordinal);
        var images = _index.Images.ToDictionary(i => i.Manifest, StringComparer.Ordinal);
        for (var i = 0; i < plan.Count; i++)
        {
            var image = plan[i];
            var entry = entries[i];
            PutBlob(image.Config, image.ConfigDigest);
            PutBlob(image.Manifest ?? MakeManifest(image.Config, image.ConfigDigest, entry.Layers), entry.Manifest);
            foreach (var layer in image.Layers)
            {
                if (!File.Exists(BlobPath(layer.Blob.Digest)) && File.Exists(layer.Blob.Path))
                {
                    File.Move(layer.Blob.Path, BlobPath(layer.Blob.Digest));
                }
            }

            images[entry.Manifest] = images.TryGetValue(entry.Manifest, out var existing) ? existing : entry;
            foreach (var name in image.Names)
            {
                names[name.FullName] = entry.Manifest;
            }
        }

        _index = new IndexModel([.. images.Values], names, _index.Digests);
        WriteIndex();
        CollectGarbage(); // an image a name moved away from keeps its layers; only orphans of a failed past go
        return [.. entries.Select(e => Describe(images[e.Manifest]))];
    }

    /// <summary>
    /// Layers and blobs no image refers to: deleted, except blobs a reader has pinned (deleted when their
    /// last pin goes, <see cref="Unpin"/>); returns the layers' diff ids.
    /// </summary>
    private List<string> CollectGarbage() => CollectGarbage(out _);

    /// <inheritdoc cref="CollectGarbage()"/>
    /// <param name="blobBytes">The size of the blob files deleted.</param>
    private List<string> CollectGarbage(out long blobBytes)
    {
        blobBytes = 0;
        var liveLayers = _index.Images.SelectMany(i => i.Layers).Select(l => Hex(l.DiffId)).ToHashSet(StringComparer.Ordinal);
        var liveBlobs = LiveBlobs();
        var deleted = new List<string>();
        foreach (var dir in Directory.EnumerateDirectories(LayersDir))
        {
            var name = Path.GetFileName(dir);
            if (!liveLayers.Contains(name))
            {
                DeleteTree(dir);
                deleted.Add("sha256:" + name);
            }
        }

        foreach (var file in Directory.EnumerateFiles(BlobsDir))
        {
            var name = Path.GetFileName(file);
            if (!liveBlobs.Contains(name) && !_pins.ContainsKey(name))
            {
                blobBytes += new FileInfo(file).Length;
                File.Delete(file);
            }
        }

        return deleted;
    }

    /// <summary>The hex digests of the blobs the index refers to.</summary>
    private HashSet<string> LiveBlobs() =>
        _index.Images.SelectMany(i => i.Layers.Select(l => l.Digest).Append(i.Config).Append(i.Manifest)).Select(Hex).ToHashSet(StringComparer.Ordinal);

    /// <summary>Under the gate: pins the blobs <paramref name="digests"/> (in the store or not yet) for a reader or a pull, until it disposes the lease.</summary>
    private BlobLease Pin(IEnumerable<string> digests)
    {
        string[] pinned = [.. digests.Select(Hex).Distinct(StringComparer.Ordinal)];
        foreach (var hex in pinned)
        {
            _pins[hex] = _pins.GetValueOrDefault(hex) + 1;
        }

        return new BlobLease(this, pinned);
    }

    /// <summary>
    /// Under the gate: drops a lease's pins; a blob whose last pin went and that no image refers to any
    /// more (its image was removed while it was read or pulled, and not pulled or loaded again since, or a
    /// pull that held it failed) is deleted.
    /// </summary>
    private void Unpin(string[] pinned)
    {
        List<string> released = [];
        foreach (var hex in pinned)
        {
            var count = _pins[hex] - 1;
            if (count > 0)
            {
                _pins[hex] = count;
            }
            else
            {
                _pins.Remove(hex);
                released.Add(hex);
            }
        }

        if (released.Count == 0)
        {
            return;
        }

        var live = LiveBlobs();
        foreach (var hex in released.Where(h => !live.Contains(h)))
        {
            File.Delete(Path.Combine(BlobsDir, hex));
        }
    }

    /// <summary>
    /// Blobs pinned for a reader (<see cref="SaveAsync"/>, <see cref="ExportAsync"/>'s caller) while it reads
    /// them outside the gate, or for a pull until it has stored its image (<see cref="LeaseAsync"/>);
    /// disposing it (once; again is a no-op) unpins them under the gate.
    /// </summary>
    public sealed class BlobLease : IDisposable, IAsyncDisposable
    {
        private readonly ImageStore _store;
        private readonly string[] _pinned;
        private int _released;

        internal BlobLease(ImageStore store, string[] pinned)
        {
            _store = store;
            _pinned = pinned;
        }

        /// <summary>
        /// Whether the blob <paramref name="digest"/> is one this lease pins and is in the store: once true, it
        /// stays true until the lease is disposed (no removal deletes a pinned blob), so a pull may skip its
        /// download. False for a digest the lease does not pin, and after the lease is disposed.
        /// </summary>
        public bool Holds(string digest)
        {
            var hex = Hex(digest);
            return Volatile.Read(ref _released) == 0 && Array.IndexOf(_pinned, hex) >= 0 && File.Exists(Path.Combine(_store.BlobsDir, hex));
        }

        public void Dispose()
        {
            if (!Claim())
            {
                return;
            }

            try
            {
                _store._gate.Wait();
            }
            catch (ObjectDisposedException)
            {
                return; // the store is closed: its pins went with it, and its next opening sees no reader
            }

            UnpinHeld();
        }

        public async ValueTask DisposeAsync()
        {
            if (!Claim())
            {
                return;
            }

            try
            {
                await _store._gate.WaitAsync(CancellationToken.None);
            }
            catch (ObjectDisposedException)
            {
                return; // as in Dispose
            }

            UnpinHeld();
        }

        /// <summary>True for the first disposal only: again is a no-op.</summary>
        private bool Claim() => Interlocked.Exchange(ref _released, 1) == 0;

        /// <summary>With the gate held: unpins, then lets the gate go.</summary>
        private void UnpinHeld()
        {
            try
            {
                _store.Unpin(_pinned);
            }
            finally
            {
                _store._gate.Release();
            }
        }
    }

    private static async Task<(string DiffId, long Size)> UnpackAsync(StagedFile blob, string target, string layer, CancellationToken ct)
    {
        await using var file = File.OpenRead(blob.Path);
        await using var tar = await Staging.Decompressed(file, $"layer {layer}", ct);
        await using var hashing = new HashingStream(tar);
        UnpackedLayer result;
        try
        {
            result = await Task.Run(() => LayerUnpacker.Unpack(hashing, target, layer, ct), ct);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
        {
            throw ImageStoreException.Corrupt($"layer {layer}: its compressed data is corrupt ({e.Message}); nothing was stored");
        }

        await hashing.DrainAsync(ct); // the tar's end padding counts in the diff id
        return (hashing.Digest, result.Size);
    }

    private static async Task<string> DiffIdAsync(StagedFile blob, CancellationToken ct)
    {
        await using var file = File.OpenRead(blob.Path);
        await using var tar = await Staging.Decompressed(file, "a layer", ct);
        try
        {
            var (digest, _) = await Staging.CopyHashingAsync(tar, Stream.Null, ct);
            return digest;
        }
        catch (InvalidDataException e)
        {
            throw ImageStoreException.Corrupt($"layer {blob.Digest}: its compressed data is corrupt ({e.Message}); nothing was stored");
        }
    }

    /// <summary>
    /// The image of <paramref name="entry"/>'s manifest, with the names and digest references of every
    /// manifest that holds its config: docker's image is its id, whatever manifest brought it.
    /// </summary>
    private StoredImage Describe(ImageEntry entry)
    {
        var config = ImageConfig.Parse(File.ReadAllBytes(BlobPath(entry.Config)), entry.Config);
        var manifests = ManifestsOf(entry.Config);
        return new StoredImage(
            entry.Config,
            entry.Manifest,
            [.. _index.Names.Where(n => manifests.Contains(n.Value)).Select(n => Familiar(n.Key)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)],
            config.Created,
            entry.Layers.Sum(l => l.Size),
            config,
            [.. entry.Layers.Select(l => new StoredLayer(l.Digest, l.DiffId, l.MediaType, l.BlobSize, l.Size))])
        {
            RepoDigests = [.. _index.Digests.Where(d => manifests.Contains(d.Value)).Select(d => FamiliarDigest(d.Key)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)],
        };
    }

    /// <summary>The manifest an image (the manifests of one config) is listed by: a named one, else one with a digest reference, else the newest.</summary>
    private ImageEntry Representative(IEnumerable<ImageEntry> manifests) =>
        manifests.OrderByDescending(i => _index.Names.ContainsValue(i.Manifest)).ThenByDescending(i => _index.Digests.ContainsValue(i.Manifest))
            .ThenByDescending(i => i.Loaded).First();

    private HashSet<string> ManifestsOf(string config) =>
        _index.Images.Where(i => i.Config == config).Select(i => i.Manifest).ToHashSet(StringComparer.Ordinal);

    private IEnumerable<string> NamesOf(ImageEntry entry) =>
        _index.Names.Where(n => n.Value == entry.Manifest).Select(n => n.Key);

    private IEnumerable<string> DigestsOf(ImageEntry entry) =>
        _index.Digests.Where(d => d.Value == entry.Manifest).Select(d => d.Key);

    /// <summary>The digest references that still point to one of <paramref name="images"/>.</summary>
    private static Dictionary<string, string> WithManifests(Dictionary<string, string> digests, IReadOnlyCollection<ImageEntry> images)
    {
        var manifests = images.Select(i => i.Manifest).ToHashSet(StringComparer.Ordinal);
        return digests.Where(d => manifests.Contains(d.Value)).ToDictionary(StringComparer.Ordinal);
    }

    /// <summary>The index's key of a digest reference: `docker.io/library/busybox@sha256:...`, without a tag.</summary>
    private static string DigestKey(ImageReference pinned) => $"{pinned.Domain}/{pinned.Path}@{pinned.Digest}";

    /// <summary>A digest reference as docker shows it in RepoDigests: `busybox@sha256:...`.</summary>
    private static string FamiliarDigest(string key)
    {
        var reference = ImageReference.Parse(key, allowDigest: true);
        return $"{reference.Repository}@{reference.Digest}";
    }

    private (IReadOnlyList<ImageEntry> Entries, ImageReference? ByName) Resolve(string reference)
    {
        var text = reference.Trim();
        if (text.Contains('@', StringComparison.Ordinal))
        {
            // A pinned reference is the content it names: the tag may have moved on, the digest has not.
            if (!ImageReference.TryParse(text, out var pinned, out var error, allowDigest: true))
            {
                throw new ImageStoreException(RejectCode.InvalidArgument, error);
            }

            // The manifest itself, or the one a registry's digest (an index's, for one pulled by a tag that
            // named an index) was recorded for: docker finds an image by any of its RepoDigests.
            var recorded = _index.Images.Any(i => i.Manifest == pinned.Digest) ? pinned.Digest
                : _index.Digests.GetValueOrDefault(DigestKey(pinned))
                  ?? _index.Digests.FirstOrDefault(d => d.Key.EndsWith("@" + pinned.Digest, StringComparison.Ordinal)).Value;
            return _index.Images.FirstOrDefault(i => i.Manifest == recorded) is { } byDigest
                ? ([byDigest], null)
                : throw new ImageStoreException(RejectCode.NotFound, $"No such image: {reference} (no image here has manifest {pinned.Digest}); pull it with `protoswarm image pull {pinned.Pinned}`");
        }

        if (ImageReference.TryParse(text, out var name, out _) && _index.Names.TryGetValue(name.FullName, out var manifest))
        {
            return ([_index.Images.Single(i => i.Manifest == manifest)], name);
        }

        var hex = text.StartsWith("sha256:", StringComparison.Ordinal) ? text["sha256:".Length..] : text;
        if (hex.Length > 0 && hex.All(Uri.IsHexDigit))
        {
            var byId = _index.Images.Where(i => Hex(i.Config).StartsWith(hex, StringComparison.Ordinal)).ToList();
            if (byId.Select(i => i.Config).Distinct(StringComparer.Ordinal).Count() > 1)
            {
                throw new ImageStoreException(RejectCode.InvalidArgument, $"'{reference}' matches more than one image id; give more of the id");
            }

            if (byId.Count > 0)
            {
                return (byId, null);
            }

            if (_index.Images.FirstOrDefault(i => Hex(i.Manifest) == hex) is { } byManifest)
            {
                return ([byManifest], null);
            }
        }

        throw new ImageStoreException(RejectCode.NotFound, $"No such image: {reference}; see `protoswarm image ls`, or load it with `protoswarm image load -i FILE`");
    }

    private void PutBlob(byte[] bytes, string digest)
    {
        var path = BlobPath(digest);
        if (File.Exists(path))
        {
            return;
        }

        var temp = NewTemp("blob");
        File.WriteAllBytes(temp, bytes);
        File.Move(temp, path);
    }

    /// <summary>An OCI manifest for an image that came without one (`docker save`, `import`).</summary>
    private static byte[] MakeManifest(byte[] config, string configDigest, IReadOnlyList<LayerEntry> layers)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("schemaVersion", 2);
            json.WriteString("mediaType", ArchiveReader.OciManifest);
            json.WriteStartObject("config");
            json.WriteString("mediaType", ArchiveReader.OciConfig);
            json.WriteString("digest", configDigest);
            json.WriteNumber("size", config.Length);
            json.WriteEndObject();
            json.WriteStartArray("layers");
            foreach (var layer in layers)
            {
                json.WriteStartObject();
                json.WriteString("mediaType", layer.MediaType);
                json.WriteString("digest", layer.Digest);
                json.WriteNumber("size", layer.BlobSize);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private IndexModel ReadIndex()
    {
        var path = Path.Combine(_root, IndexFile);
        if (!File.Exists(path))
        {
            return new IndexModel([], new Dictionary<string, string>(StringComparer.Ordinal), new Dictionary<string, string>(StringComparer.Ordinal));
        }

        try
        {
            var index = JsonSerializer.Deserialize<IndexModel>(File.ReadAllBytes(path), IndexJson)
                        ?? throw new JsonException("empty");
            // An index written before digest references were kept has none.
            return index with
            {
                Names = new Dictionary<string, string>(index.Names, StringComparer.Ordinal),
                Digests = new Dictionary<string, string>(index.Digests ?? [], StringComparer.Ordinal),
            };
        }
        catch (JsonException e)
        {
            throw new ImageStoreException(RejectCode.Internal, $"{path}: the image index is corrupt ({e.Message}); move it aside and load the images again");
        }
    }

    private void WriteIndex()
    {
        var temp = NewTemp("index");
        File.WriteAllBytes(temp, JsonSerializer.SerializeToUtf8Bytes(_index, IndexJson));
        File.Move(temp, Path.Combine(_root, IndexFile), overwrite: true);
    }

    private string NewTemp(string kind) => Path.Combine(TmpDir, $"{kind}-{Guid.NewGuid():N}");

    private static void DeleteTree(string path)
    {
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
    }

    private static bool IsGzipFile(string path)
    {
        using var stream = File.OpenRead(path);
        return stream.ReadByte() == 0x1f && stream.ReadByte() == 0x8b;
    }

    private static string Sha256(byte[] bytes) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static string Hex(string digest) =>
        digest.StartsWith("sha256:", StringComparison.Ordinal) && digest.Length == 71 && digest[7..].All(char.IsAsciiHexDigitLower)
            ? digest[7..]
            : throw new ImageStoreException(RejectCode.InvalidArgument, $"'{digest}' is not a sha256 digest (sha256:<64 lowercase hex>)");

    private static string Familiar(string fullName) => ImageStoreException.ParseName(fullName).Familiar;

    /// <summary>docker's short id: 12 hex digits.</summary>
    private static string Short(string digest) => digest.Length > 19 ? digest[7..19] : digest;

    /// <summary><see cref="Names"/>: full name to manifest; <see cref="Digests"/>: full repository@digest to manifest.</summary>
    private sealed record IndexModel(List<ImageEntry> Images, Dictionary<string, string> Names, Dictionary<string, string> Digests);

    private sealed record ImageEntry(string Manifest, string Config, List<LayerEntry> Layers, DateTimeOffset Loaded);

    private sealed record LayerEntry(string Digest, string DiffId, string MediaType, long BlobSize, long Size);

    /// <summary>Hashes what is read through it: the diff id of a layer as it is unpacked.</summary>
    private sealed class HashingStream(Stream inner) : ForwardReadStream
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public string Digest => "sha256:" + Convert.ToHexStringLower(_hash.GetHashAndReset());

        public override int Read(Span<byte> buffer)
        {
            var n = inner.Read(buffer);
            _hash.AppendData(buffer[..n]);
            return n;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = await inner.ReadAsync(buffer, cancellationToken);
            _hash.AppendData(buffer.Span[..n]);
            return n;
        }

        public async Task DrainAsync(CancellationToken ct)
        {
            var buffer = new byte[81920];
            while (await ReadAsync(buffer, ct) > 0)
            {
            }
        }


        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _hash.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
