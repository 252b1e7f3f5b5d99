using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using ProtoSwarm.Containers.Runtime;
using ProtoSwarm.Containers.Runtime.Cgroups;
using ProtoSwarm.Containers.Secrets.Interop;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Containers.Volumes;

/// <summary>A volume as `volume inspect` shows it, with the containers using it now.</summary>
public sealed record Volume(
    string Name,
    string Driver,
    string Mountpoint,
    DateTimeOffset CreatedAt,
    ImmutableSortedDictionary<string, string> Labels,
    string Scope,
    IReadOnlyList<string> UsedBy,
    bool Anonymous = false,
    ImmutableSortedDictionary<string, string>? Options = null)
{
    /// <summary>The local driver's options it was created with (type, device, o); empty for a plain directory.</summary>
    public ImmutableSortedDictionary<string, string> Options { get; init; } = Options ?? ImmutableSortedDictionary<string, string>.Empty;
}

/// <summary>A volume operation refused; the message says what, where and how to fix it.</summary>
public sealed class VolumeStoreException(RejectCode code, string message) : Exception(message)
{
    public RejectCode Code { get; } = code;
}

/// <summary>
/// The node's named volumes, docker's local driver: DIR/NAME/_data is the volume, DIR/NAME/volume.json
/// its creation time and labels, and DIR/NAME/users/ID one empty file per container that mounts it,
/// so "in use" survives a restart of the node host (<see cref="ReleaseAllExcept"/> drops containers
/// that ended while it was down). A volume is created on first use, filled from the image when it is
/// empty (unless nocopy), kept when its containers go, and removed only when none uses it.
/// Anonymous volumes (type=volume with no source) are made one per container and removed with it (a standalone
/// container's only when its removal asks, as docker's `rm -v` and `run --rm`).
/// A volume created with the local driver's options (<see cref="LocalVolumeOptions"/>: a tmpfs, an NFS export, a
/// bind of a node's directory) has them mounted on its _data when its first container takes it and unmounted when
/// its last one lets it go, as docker's local driver does; nothing here ever deletes through such a mount.
/// </summary>
public sealed class VolumeStore
{
    public const string LocalDriver = "local";
    private const string MetadataFile = "volume.json";
    private const string DataDir = "_data";
    private const string UsersDir = "users";

    private readonly string _directory;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();

    public VolumeStore(string directory, TimeProvider? time = null)
    {
        _directory = Path.GetFullPath(directory);
        _time = time ?? TimeProvider.System;
    }

    /// <summary>`volume create`: idempotent for a name that exists (its labels are kept); an empty name makes one with a random 64-hex name.</summary>
    /// <param name="options">The local driver's options (type, device, o), kept with the volume and mounted on its first use.</param>
    /// <param name="anonymousFor">A container the volume is anonymous for (docker's `run -v /path`): removed when that container is released.</param>
    public Volume Create(string name, IReadOnlyDictionary<string, string>? labels = null, string driver = LocalDriver, IReadOnlyDictionary<string, string>? options = null,
        string? anonymousFor = null)
    {
        if (driver != LocalDriver)
        {
            throw new VolumeStoreException(RejectCode.InvalidArgument, $"volume driver '{driver}' is not available on this node; only 'local' is");
        }

        lock (_lock)
        {
            return CreateLocked(name.Length == 0 ? RandomName() : name, labels, anonymousFor, options);
        }
    }

    public IReadOnlyList<Volume> List()
    {
        lock (_lock)
        {
            if (!Directory.Exists(_directory))
            {
                return [];
            }

            return [.. Directory.EnumerateDirectories(_directory)
                .Select(Path.GetFileName)
                .Where(n => n is not null && VolumeNames.IsValid(n) && File.Exists(Path.Join(_directory, n, MetadataFile)))
                .Order(StringComparer.Ordinal)
                .Select(n => Read(n!))];
        }
    }

    /// <summary>Where a volume's files are on the node (its Mountpoint), whether it exists yet or not.</summary>
    public string MountpointOf(string name) => Path.Join(_directory, name, DataDir);

    /// <summary>
    /// The volume whose files are at <paramref name="mountpoint"/> (<see cref="MountpointOf"/>), or null for a path that is no
    /// volume's: the name <see cref="ResolveMounts"/> gave an anonymous volume, read back from the bind it made of it.
    /// </summary>
    public string? NameOfMountpoint(string mountpoint) =>
        Path.GetFileName(mountpoint) == DataDir && Path.GetDirectoryName(mountpoint) is { } volume && Path.GetFileName(volume) is { Length: > 0 } name
            && MountpointOf(name) == mountpoint ? name : null;

    public Volume Inspect(string name)
    {
        lock (_lock)
        {
            return Exists(name) ? Read(name) : throw NoSuchVolume(name);
        }
    }

    /// <summary>`volume rm`: refused while a container uses the volume, forced or not (docker's rule); force only makes a missing volume no error.</summary>
    /// <summary>Removes a volume no container holds; returns the bytes its files took (0 for a missing one with force).</summary>
    public long Remove(string name, bool force = false)
    {
        lock (_lock)
        {
            if (!Exists(name))
            {
                if (force)
                {
                    return 0;
                }

                throw NoSuchVolume(name);
            }

            var users = Users(name);
            if (users.Count > 0)
            {
                throw new VolumeStoreException(RejectCode.Conflict,
                    $"remove {name}: volume is in use by task {string.Join(", ", users)}; remove or update the service that runs it first (a standalone container's: remove the container, `protoswarm rm`)");
            }

            // A mount left behind (the node host stopped while a container held it) goes first: the delete
            // below must never reach through it into a tmpfs, an export or a node's directory.
            Unmount(name);
            var bytes = DataBytes(Path.Join(_directory, name, DataDir));
            Directory.Delete(Path.Join(_directory, name), recursive: true);
            return bytes;
        }
    }

    /// <summary>What the files of the volume <paramref name="name"/> take now (`system df`), 0 for one that is gone.</summary>
    public long SizeOf(string name) => DataBytes(Path.Join(_directory, name, DataDir));

    /// <summary>What a volume's files take, as docker's prune counts its reclaimed space: regular files' sizes, links not followed.</summary>
    private static long DataBytes(string directory)
    {
        try
        {
            var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint };
            return new DirectoryInfo(directory).EnumerateFiles("*", options).Sum(f => f.Length);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    /// <summary>
    /// What the task executor calls before it starts a container: each volume mount becomes a bind of
    /// the volume's directory (the volume is created, labelled from the mount, on first use, and
    /// filled from the image when empty unless nocopy; an anonymous one is made for this container),
    /// each bind mount is checked to exist here, a tmpfs passes through. The container is recorded as
    /// a user of its volumes until <see cref="Release"/>. Throws <see cref="VolumeStoreException"/>
    /// with a message for the task's error; nothing is recorded then.
    /// </summary>
    /// <param name="imageLayers">The image's layer directories, lowest first (ImageStore.RootLayers).</param>
    public IReadOnlyList<ContainerMount> ResolveMounts(string containerId, IReadOnlyList<MountSpec> mounts, IReadOnlyList<string> imageLayers)
    {
        lock (_lock)
        {
            var resolved = new List<ContainerMount>();
            var acquired = new List<string>();
            try
            {
                foreach (var mount in mounts)
                {
                    resolved.Add(mount.Type switch
                    {
                        MountType.Bind => Bind(mount),
                        MountType.Tmpfs => ContainerMount.Tmpfs(mount.Target, mount.TmpfsSizeBytes, mount.TmpfsMode, mount.ReadOnly),
                        MountType.Volume => VolumeMount(containerId, mount, imageLayers, acquired),
                        _ => throw new VolumeStoreException(RejectCode.InvalidArgument, $"mount {mount.Target}: {(int)mount.Type} is not a mount type"),
                    });
                }

                return resolved;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Undo(containerId, acquired);
                throw new VolumeStoreException(RejectCode.Internal, $"volumes at {_directory}: {e.Message}");
            }
            catch
            {
                Undo(containerId, acquired);
                throw;
            }
        }
    }

    /// <summary>
    /// The container is gone: it no longer holds its volumes, and its anonymous volumes are removed unless
    /// <paramref name="removeAnonymous"/> is false (docker's `rm` without -v: they stay, dangling, for `volume prune`).
    /// </summary>
    public void Release(string containerId, bool removeAnonymous = true)
    {
        lock (_lock)
        {
            if (!Directory.Exists(_directory))
            {
                return;
            }

            foreach (var name in Directory.EnumerateDirectories(_directory).Select(Path.GetFileName).OfType<string>())
            {
                var user = Path.Join(_directory, name, UsersDir, containerId);
                if (File.Exists(user))
                {
                    File.Delete(user);
                    if (Users(name).Count == 0 && TryReadMetadata(name) is { Options.Count: > 0 })
                    {
                        Unmount(name);
                    }
                }

                if (removeAnonymous && TryReadMetadata(name) is { AnonymousFor: { } owner } && owner == containerId && Users(name).Count == 0)
                {
                    Directory.Delete(Path.Join(_directory, name), recursive: true);
                }
            }
        }
    }

    /// <summary>After a node host restart: releases every container not among those still present.</summary>
    public void ReleaseAllExcept(IReadOnlySet<string> liveContainerIds)
    {
        List<string> gone;
        lock (_lock)
        {
            gone = !Directory.Exists(_directory)
                ? []
                : [.. Directory.EnumerateDirectories(_directory)
                    .SelectMany(d => Directory.Exists(Path.Join(d, UsersDir)) ? Directory.EnumerateFiles(Path.Join(d, UsersDir)) : [])
                    .Select(Path.GetFileName).OfType<string>()
                    .Where(id => !liveContainerIds.Contains(id))
                    .Distinct(StringComparer.Ordinal)];
        }

        foreach (var id in gone)
        {
            Release(id);
        }
    }

    private static ContainerMount Bind(MountSpec mount)
    {
        if (!Path.IsPathFullyQualified(mount.Source))
        {
            throw new VolumeStoreException(RejectCode.InvalidArgument, $"invalid mount config for type \"bind\": invalid mount path: '{mount.Source}' mount path must be absolute");
        }

        if (!Directory.Exists(mount.Source) && !File.Exists(mount.Source))
        {
            throw new VolumeStoreException(RejectCode.InvalidArgument, $"invalid mount config for type \"bind\": bind source path does not exist: {mount.Source}");
        }

        return ContainerMount.Bind(mount.Source, mount.Target, mount.ReadOnly, mount.Propagation, mount.BindNonRecursive) with
        {
            ReadOnlyNonRecursive = mount.BindReadOnlyNonRecursive,
            ReadOnlyForceRecursive = mount.BindReadOnlyForceRecursive,
        };
    }

    private ContainerMount VolumeMount(string containerId, MountSpec mount, IReadOnlyList<string> imageLayers, List<string> acquired)
    {
        var anonymous = mount.Source.Length == 0;
        var name = anonymous ? RandomName() : mount.Source;
        var volume = Exists(name) ? Read(name) : CreateLocked(name, mount.VolumeLabels, anonymous ? containerId : null, mount.VolumeOptions);
        Directory.CreateDirectory(Path.Join(_directory, name, UsersDir));
        File.WriteAllBytes(Path.Join(_directory, name, UsersDir, containerId), []);
        acquired.Add(name);
        if (LocalVolumeOptions.From(volume.Options) is { } options && !IsMounted(volume.Mountpoint))
        {
            MountVolume(name, volume.Mountpoint, options);
        }

        if (!mount.VolumeNoCopy && !Directory.EnumerateFileSystemEntries(volume.Mountpoint).Any())
        {
            ImageContent.CopyInto(imageLayers, mount.Target, volume.Mountpoint);
        }

        return ContainerMount.Bind(volume.Mountpoint, mount.Target, mount.ReadOnly);
    }

    private void Undo(string containerId, List<string> acquired)
    {
        foreach (var name in acquired)
        {
            File.Delete(Path.Join(_directory, name, UsersDir, containerId));
            if (Users(name).Count == 0)
            {
                Unmount(name);
            }

            if (TryReadMetadata(name) is { AnonymousFor: { } owner } && owner == containerId)
            {
                Directory.Delete(Path.Join(_directory, name), recursive: true);
            }
        }
    }

    private Volume CreateLocked(string name, IReadOnlyDictionary<string, string>? labels, string? anonymousFor, IReadOnlyDictionary<string, string>? options)
    {
        if (VolumeNames.Problem(name) is { } problem)
        {
            throw new VolumeStoreException(RejectCode.InvalidArgument, $"create {name}: {problem}");
        }

        if (options is not null && LocalVolumeDriver.Problem(options) is { } invalid)
        {
            throw new VolumeStoreException(RejectCode.InvalidArgument, $"create {name}: {invalid}");
        }

        if (Exists(name))
        {
            return Read(name);
        }

        var root = Path.Join(_directory, name);
        var staging = Path.Join(_directory, "." + name + ".new");
        if (Directory.Exists(staging))
        {
            Directory.Delete(staging, recursive: true);
        }

        // Made aside, then renamed: a crash never leaves a volume without its metadata.
        Directory.CreateDirectory(Path.Join(staging, DataDir));
        File.SetUnixFileMode(staging, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.SetUnixFileMode(Path.Join(staging, DataDir), (UnixFileMode)0x1ED /* 0755 */);
        var metadata = new VolumeMetadata
        {
            CreatedAt = _time.GetUtcNow(),
            Labels = new SortedDictionary<string, string>(labels?.ToDictionary() ?? [], StringComparer.Ordinal),
            AnonymousFor = anonymousFor,
            Options = options is { Count: > 0 } ? new SortedDictionary<string, string>(options.ToDictionary(), StringComparer.Ordinal) : null,
        };
        File.WriteAllText(Path.Join(staging, MetadataFile), JsonSerializer.Serialize(metadata, VolumeJson.Default.VolumeMetadata));
        Directory.Move(staging, root);
        return Read(name);
    }

    private bool Exists(string name) => VolumeNames.IsValid(name) && File.Exists(Path.Join(_directory, name, MetadataFile));

    private Volume Read(string name)
    {
        var metadata = TryReadMetadata(name) ?? new VolumeMetadata();
        return new Volume(
            name,
            metadata.Driver,
            Path.Join(_directory, name, DataDir),
            metadata.CreatedAt,
            ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, metadata.Labels),
            "local",
            Users(name),
            metadata.AnonymousFor is not null,
            metadata.Options is null ? null : ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, metadata.Options));
    }

    private VolumeMetadata? TryReadMetadata(string name)
    {
        var path = Path.Join(_directory, name, MetadataFile);
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize(File.ReadAllBytes(path), VolumeJson.Default.VolumeMetadata) : null;
        }
        catch (JsonException e)
        {
            throw new VolumeStoreException(RejectCode.Internal, $"volume {name}: {path} is not readable JSON ({e.Message}); fix or remove the file");
        }
    }

    private List<string> Users(string name)
    {
        var users = Path.Join(_directory, name, UsersDir);
        return Directory.Exists(users) ? [.. Directory.EnumerateFiles(users).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)] : [];
    }

    /// <summary>Mounts the volume's options on its directory, as mount(8) would; the error names the volume and its options.</summary>
    private static void MountVolume(string name, string mountpoint, LocalVolumeOptions options)
    {
        string data;
        try
        {
            data = options.DataFor(System.Net.Dns.GetHostAddresses);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
        {
            throw new VolumeStoreException(RejectCode.InvalidArgument, $"volume {name}: {options.Type} server: {e.Message}; fix the volume's addr= option (`protoswarm volume inspect {name}`)");
        }

        var flags = options.Flags & ~LocalVolumeOptions.Propagation;
        Check(FileSystemCalls.Mount(options.Device, mountpoint, options.Type, flags, data.Length == 0 ? null : data));
        try
        {
            // A bind ignores ro and the like: they take a remount of the bind; propagation takes a mount of its own.
            if ((flags & LocalVolumeOptions.MS_BIND) != 0 && (flags & ~(LocalVolumeOptions.MS_BIND | LocalVolumeOptions.MS_REC)) != 0)
            {
                Check(FileSystemCalls.Mount(null, mountpoint, null, flags | LocalVolumeOptions.MS_REMOUNT, null));
            }

            if ((options.Flags & LocalVolumeOptions.Propagation) is var propagation and not 0)
            {
                Check(FileSystemCalls.Mount(null, mountpoint, null, propagation | (options.Flags & LocalVolumeOptions.MS_REC), null));
            }
        }
        catch
        {
            FileSystemCalls.Umount2(mountpoint, FileSystemCalls.MNT_DETACH);
            throw;
        }

        void Check(int result)
        {
            if (result < 0)
            {
                var error = System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
                throw new VolumeStoreException(RejectCode.InvalidArgument,
                    $"volume {name}: mount -t {options.Type} {options.Device} on its directory failed: {error}; check the volume's options (`protoswarm volume inspect {name}`), or remove it and create it again with others");
            }
        }
    }

    /// <summary>Undoes the volume's mount if its directory is one (each one stacked on it); the volume is refused removal if that fails.</summary>
    private void Unmount(string name)
    {
        var mountpoint = Path.Join(_directory, name, DataDir);
        while (IsMounted(mountpoint))
        {
            if (FileSystemCalls.Umount2(mountpoint, 0) < 0 && FileSystemCalls.Umount2(mountpoint, FileSystemCalls.MNT_DETACH) < 0)
            {
                var error = System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
                throw new VolumeStoreException(RejectCode.Internal, $"volume {name}: its mount on {mountpoint} cannot be undone: {error}; unmount it by hand (umount {mountpoint})");
            }
        }
    }

    private static bool IsMounted(string path) =>
        File.Exists("/proc/self/mountinfo") && MountInfo.Parse(File.ReadAllText("/proc/self/mountinfo")).Any(m => m.MountPoint == path);

    private static VolumeStoreException NoSuchVolume(string name) =>
        new(RejectCode.NotFound, $"get {name}: no such volume; `protoswarm volume ls` lists this node's volumes");

    private static string RandomName() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
}

internal sealed class VolumeMetadata
{
    public DateTimeOffset CreatedAt { get; set; }
    public string Driver { get; set; } = VolumeStore.LocalDriver;
    public SortedDictionary<string, string> Labels { get; set; } = new(StringComparer.Ordinal);
    /// <summary>The container an anonymous volume was made for; it goes with that container.</summary>
    public string? AnonymousFor { get; set; }
    /// <summary>The local driver's options (type, device, o); null for a plain directory.</summary>
    public SortedDictionary<string, string>? Options { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(VolumeMetadata))]
internal sealed partial class VolumeJson : JsonSerializerContext;
