using System.Collections.Immutable;
using ProtoSwarm.Containers.Runtime;
using ProtoSwarm.Containers.Volumes;
using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Runtime;

namespace ProtoSwarm.Tests.Containers.Volumes;

public sealed class VolumeStoreTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("protoswarm-volumes-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private VolumeStore Store() => new(Path.Combine(_dir, "volumes"));

    private static ImmutableSortedDictionary<string, string> Labels(params (string Key, string Value)[] labels) =>
        ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, labels.Select(l => KeyValuePair.Create(l.Key, l.Value)));

    [Fact]
    public void Create_Is_Idempotent_And_Inspect_Shows_Dockers_Fields()
    {
        var store = Store();

        var first = store.Create("pgdata", Labels(("app", "db")));
        var again = store.Create("pgdata", Labels(("other", "x")));

        Assert.Equal(("pgdata", "local", "local"), (first.Name, first.Driver, first.Scope));
        Assert.Equal(Path.Combine(_dir, "volumes", "pgdata", "_data"), first.Mountpoint);
        Assert.True(Directory.Exists(first.Mountpoint));
        Assert.Equal(first.CreatedAt, again.CreatedAt);
        Assert.Equal("db", Assert.Single(store.Inspect("pgdata").Labels).Value);
        Assert.Empty(first.UsedBy);
    }

    [Fact]
    public void List_Is_Sorted_And_A_Nameless_Create_Gets_A_Random_Name()
    {
        var store = Store();
        store.Create("zeta");
        store.Create("alpha");
        var random = store.Create("");

        Assert.Matches("^[0-9a-f]{64}$", random.Name);
        Assert.Equal(new[] { "alpha", "zeta" }.Append(random.Name).Order(StringComparer.Ordinal), store.List().Select(v => v.Name));
    }

    [Fact]
    public void Remove_Tells_The_Bytes_The_Volumes_Files_Took()
    {
        var store = Store();
        var volume = store.Create("cache");
        Directory.CreateDirectory(Path.Combine(volume.Mountpoint, "sub"));
        File.WriteAllBytes(Path.Combine(volume.Mountpoint, "a.bin"), new byte[1000]);
        File.WriteAllBytes(Path.Combine(volume.Mountpoint, "sub", "b.bin"), new byte[234]);
        File.CreateSymbolicLink(Path.Combine(volume.Mountpoint, "link"), "/etc/passwd");

        Assert.Equal(1234, store.Remove("cache"));
        Assert.False(Directory.Exists(volume.Mountpoint));
        Assert.Equal(0, store.Remove("cache", force: true));
        Assert.False(volume.Anonymous);
    }

    [Theory]
    [InlineData("x", "at least two characters")]
    [InlineData("-bad", "not a valid volume name")]
    [InlineData("a/b", "not a valid volume name")]
    public void Bad_Names_Are_Refused(string name, string expected)
    {
        var e = Assert.Throws<VolumeStoreException>(() => Store().Create(name));

        Assert.Equal(RejectCode.InvalidArgument, e.Code);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Remove_Is_Refused_While_A_Container_Uses_The_Volume_Even_Forced_And_Survives_A_Restart()
    {
        var store = Store();
        var mounts = store.ResolveMounts("task1", [new MountSpec(MountType.Volume, "data", "/data", VolumeNoCopy: true)], []);

        var inUse = Assert.Throws<VolumeStoreException>(() => store.Remove("data"));
        var forced = Assert.Throws<VolumeStoreException>(() => store.Remove("data", force: true));
        // A new store over the same directory: the node host restarted.
        var restarted = Store();
        var stillInUse = Assert.Throws<VolumeStoreException>(() => restarted.Remove("data"));

        Assert.Equal(ContainerMount.Bind(Path.Combine(_dir, "volumes", "data", "_data"), "/data"), Assert.Single(mounts));
        Assert.Equal(RejectCode.Conflict, inUse.Code);
        Assert.Contains("volume is in use by task task1", inUse.Message, StringComparison.Ordinal);
        Assert.Contains("in use", forced.Message, StringComparison.Ordinal);
        Assert.Contains("in use", stillInUse.Message, StringComparison.Ordinal);
        Assert.Equal<string>(["task1"], restarted.Inspect("data").UsedBy);

        restarted.ReleaseAllExcept(new HashSet<string>());
        restarted.Remove("data");

        Assert.Empty(restarted.List());
    }

    [Fact]
    public void Remove_Of_A_Missing_Volume_Is_Not_Found_Unless_Forced()
    {
        var store = Store();

        var e = Assert.Throws<VolumeStoreException>(() => store.Remove("nothere"));
        store.Remove("nothere", force: true);

        Assert.Equal(RejectCode.NotFound, e.Code);
        Assert.Contains("no such volume", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_Creates_Named_Volumes_With_The_Mounts_Labels_Passes_Tmpfs_And_Checks_Bind_Sources()
    {
        var store = Store();

        var mounts = store.ResolveMounts("t1",
        [
            new MountSpec(MountType.Volume, "cache", "/cache", ReadOnly: true, VolumeNoCopy: true, VolumeLabels: Labels(("made-by", "service"))),
            new MountSpec(MountType.Tmpfs, "", "/run", TmpfsSizeBytes: 1 << 20, TmpfsMode: 0x1F8),
            new MountSpec(MountType.Bind, _dir, "/host", ReadOnly: true),
        ], []);
        var missing = Assert.Throws<VolumeStoreException>(() => store.ResolveMounts("t2",
            [new MountSpec(MountType.Volume, "other", "/o", VolumeNoCopy: true), new MountSpec(MountType.Bind, "/no/such/dir", "/x")], []));

        Assert.Equal(
            [
                ContainerMount.Bind(store.Inspect("cache").Mountpoint, "/cache", readOnly: true),
                ContainerMount.Tmpfs("/run", 1 << 20, 0x1F8),
                ContainerMount.Bind(_dir, "/host", readOnly: true),
            ],
            mounts);
        Assert.Equal("service", store.Inspect("cache").Labels["made-by"]);
        Assert.Equal("invalid mount config for type \"bind\": bind source path does not exist: /no/such/dir", missing.Message);
        // Nothing of the refused resolve is held.
        Assert.Empty(store.Inspect("other").UsedBy);
    }

    [Fact]
    public void An_Anonymous_Volume_Is_Made_Per_Container_And_Removed_With_It()
    {
        var store = Store();

        var mount = Assert.Single(store.ResolveMounts("t1", [new MountSpec(MountType.Volume, "", "/scratch", VolumeNoCopy: true)], []));
        var name = Assert.Single(store.List()).Name;
        var named = store.NameOfMountpoint(mount.Source);
        store.Release("t1");

        Assert.Matches("^[0-9a-f]{64}$", name);
        Assert.StartsWith(Path.Combine(_dir, "volumes", name), mount.Source, StringComparison.Ordinal);
        // The name the container's inspect shows it by, read back from the bind made of it.
        Assert.Equal(name, named);
        Assert.Empty(store.List());
    }

    [Theory]
    [InlineData("/srv/www")]
    [InlineData("/srv/www/_data")]
    [InlineData("")]
    public void A_Path_That_Is_No_Volumes_Directory_Names_No_Volume(string path)
    {
        var store = Store();

        Assert.Null(store.NameOfMountpoint(path));
        Assert.Null(store.NameOfMountpoint(Path.Combine(_dir, "volumes", "data")));
        Assert.Equal("data", store.NameOfMountpoint(store.MountpointOf("data")));
    }

    [Fact]
    [Trait("Category", "Privileged")]
    public void An_Empty_Volume_Is_Filled_From_The_Merged_Image_Once()
    {
        var lower = Directory.CreateDirectory(Path.Combine(_dir, "lower")).FullName;
        var upper = Directory.CreateDirectory(Path.Combine(_dir, "upper")).FullName;
        Directory.CreateDirectory(Path.Combine(lower, "data", "sub"));
        File.WriteAllText(Path.Combine(lower, "data", "kept"), "lower");
        File.WriteAllText(Path.Combine(lower, "data", "gone"), "deleted by the upper layer");
        File.WriteAllText(Path.Combine(lower, "data", "sub", "deep"), "deep");
        Directory.CreateDirectory(Path.Combine(upper, "data"));
        File.WriteAllText(Path.Combine(upper, "data", "kept"), "upper");
        File.CreateSymbolicLink(Path.Combine(upper, "data", "link"), "kept");
        Assert.Equal(0, ProtoSwarm.Containers.Images.Interop.FileSyscalls.Mknod(Path.Combine(upper, "data", "gone"), 0x2000, 0));
        File.SetUnixFileMode(Path.Combine(upper, "data"), (UnixFileMode)0x1FD /* 0775 */);
        var store = Store();

        var mount = Assert.Single(store.ResolveMounts("t1", [new MountSpec(MountType.Volume, "data", "/data")], [lower, upper]));
        File.WriteAllText(Path.Combine(mount.Source, "kept"), "changed by the task");
        store.Release("t1");
        store.ResolveMounts("t2", [new MountSpec(MountType.Volume, "data", "/data")], [lower, upper]);

        Assert.Equal(["deep", "kept", "link", "sub"], Directory.EnumerateFileSystemEntries(mount.Source, "*", SearchOption.AllDirectories)
            .Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal("changed by the task", File.ReadAllText(Path.Combine(mount.Source, "kept")));
        Assert.Equal("kept", new FileInfo(Path.Combine(mount.Source, "link")).LinkTarget);
        Assert.Equal((UnixFileMode)0x1FD, File.GetUnixFileMode(mount.Source));
    }

    [Fact]
    public void The_Node_Answers_Volume_Commands_Through_The_Contracts()
    {
        var volumes = new LocalVolumes(Path.Combine(_dir, "volumes"));

        var created = Assert.IsType<VolumeCreated>(volumes.Handle(new CreateVolume("r1", "web-data", "local", Labels(("a", "b")))));
        var list = Assert.IsType<VolumeList>(volumes.Handle(new ListVolumes("r2")));
        var details = Assert.IsType<VolumeDetails>(volumes.Handle(new InspectVolume("r3", "web-data")));
        volumes.Store.ResolveMounts("t1", [new MountSpec(MountType.Volume, "web-data", "/d", VolumeNoCopy: true)], []);
        var inUse = Assert.IsType<CommandRejected>(volumes.Handle(new RemoveVolume("r4", "web-data", true)));
        volumes.Store.Release("t1");
        var removed = Assert.IsType<VolumeRemoved>(volumes.Handle(new RemoveVolume("r5", "web-data", false)));
        var missing = Assert.IsType<CommandRejected>(volumes.Handle(new InspectVolume("r6", "web-data")));
        var badDriver = Assert.IsType<CommandRejected>(volumes.Handle(new CreateVolume("r7", "v2", "nfs")));

        Assert.Equal("web-data", created.Volume.Name);
        Assert.Equal("web-data", Assert.Single(list.Volumes).Name);
        Assert.Equal("b", details.Volume.Labels["a"]);
        Assert.Equal(RejectCode.Conflict, inUse.Code);
        Assert.Equal("web-data", removed.Name);
        Assert.Equal(RejectCode.NotFound, missing.Code);
        Assert.Contains("only 'local'", badDriver.Reason, StringComparison.Ordinal);
    }

    private static bool IsMountPoint(string path) =>
        File.ReadLines("/proc/self/mountinfo").Select(l => l.Split(' ')).Any(f => f.Length > 4 && f[4] == path);

    [Fact]
    [Trait("Category", "Privileged")]
    public void A_Tmpfs_Volume_Is_Mounted_While_A_Container_Holds_It_And_Unmounted_With_The_Last()
    {
        var store = Store();
        var volume = store.Create("scratch", options: Labels(("type", "tmpfs"), ("device", "tmpfs"), ("o", "size=1m,mode=0750,noexec")));
        Assert.Equal(["device", "o", "type"], volume.Options.Keys);
        Assert.False(IsMountPoint(volume.Mountpoint));

        store.ResolveMounts("t1", [new MountSpec(MountType.Volume, "scratch", "/scratch", VolumeNoCopy: true)], []);
        store.ResolveMounts("t2", [new MountSpec(MountType.Volume, "scratch", "/scratch", VolumeNoCopy: true)], []);
        try
        {
            Assert.True(IsMountPoint(volume.Mountpoint));
            var line = File.ReadLines("/proc/self/mountinfo").Single(l => l.Split(' ')[4] == volume.Mountpoint);
            Assert.Contains(" - tmpfs tmpfs ", line, StringComparison.Ordinal);
            Assert.Contains("noexec", line.Split(' ')[5], StringComparison.Ordinal);
            Assert.Contains("size=1024k", line, StringComparison.Ordinal);
            File.WriteAllText(Path.Combine(volume.Mountpoint, "f"), "in memory");

            store.Release("t1");
            Assert.True(IsMountPoint(volume.Mountpoint));
            Assert.True(File.Exists(Path.Combine(volume.Mountpoint, "f")));
        }
        finally
        {
            store.Release("t2");
        }

        Assert.False(IsMountPoint(volume.Mountpoint));
        Assert.Empty(Directory.EnumerateFileSystemEntries(volume.Mountpoint));
        Assert.Equal("tmpfs", store.Inspect("scratch").Options["type"]);
    }

    [Fact]
    [Trait("Category", "Privileged")]
    public void A_Bind_Volume_Shows_The_Nodes_Directory_Read_Only_And_Removing_It_Never_Deletes_That_Directory()
    {
        var source = Directory.CreateDirectory(Path.Combine(_dir, "srv")).FullName;
        File.WriteAllText(Path.Combine(source, "kept"), "the node's");
        var store = Store();
        var volume = store.Create("srv", options: Labels(("type", "none"), ("device", source), ("o", "bind,ro")));

        store.ResolveMounts("t1", [new MountSpec(MountType.Volume, "srv", "/srv", VolumeNoCopy: true)], []);
        try
        {
            Assert.Equal("the node's", File.ReadAllText(Path.Combine(volume.Mountpoint, "kept")));
            Assert.Throws<IOException>(() => File.WriteAllText(Path.Combine(volume.Mountpoint, "new"), "refused"));
            Assert.Equal(RejectCode.Conflict, Assert.Throws<VolumeStoreException>(() => store.Remove("srv")).Code);
        }
        finally
        {
            // As if the node host had stopped while the task held it: the user is gone, the mount is not.
            File.Delete(Path.Combine(_dir, "volumes", "srv", "users", "t1"));
        }

        Assert.True(IsMountPoint(volume.Mountpoint));
        store.Remove("srv");

        Assert.False(IsMountPoint(volume.Mountpoint));
        Assert.Equal("the node's", File.ReadAllText(Path.Combine(source, "kept")));
        Assert.Empty(store.List());
    }

    [Fact]
    [Trait("Category", "Privileged")]
    public void A_Mount_That_Fails_Fails_The_Task_With_The_Volumes_Name_And_Holds_Nothing()
    {
        var store = Store();
        store.Create("gone", options: Labels(("type", "none"), ("device", Path.Combine(_dir, "missing")), ("o", "bind")));

        var e = Assert.Throws<VolumeStoreException>(() => store.ResolveMounts("t1", [new MountSpec(MountType.Volume, "gone", "/gone", VolumeNoCopy: true)], []));

        Assert.Contains("volume gone: mount -t none", e.Message, StringComparison.Ordinal);
        Assert.Contains("protoswarm volume inspect gone", e.Message, StringComparison.Ordinal);
        Assert.Empty(store.Inspect("gone").UsedBy);
    }

    [Theory]
    [InlineData("size", "invalid option: \"size\"")]
    [InlineData("device", "missing required option: \"type\"")]
    [InlineData("o", "missing required option: \"device\"")]
    public void Create_Refuses_Options_The_Local_Driver_Does_Not_Take(string key, string expected)
    {
        var e = Assert.Throws<VolumeStoreException>(() => Store().Create("vol", options: Labels((key, "x"))));

        Assert.Equal(RejectCode.InvalidArgument, e.Code);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Empty(Store().List());
    }

    [Fact]
    [Trait("Category", "Privileged")]
    public void A_Services_Volume_Options_Make_The_Volume_It_Creates_And_An_Anonymous_One_Goes_Unmounted()
    {
        var store = Store();
        var tmpfs = ImmutableSortedDictionary<string, string>.Empty.Add("type", "tmpfs").Add("device", "tmpfs").Add("o", "size=1m");
        var anonymous = Assert.Single(store.ResolveMounts("t1", [new MountSpec(MountType.Volume, "", "/scratch", VolumeNoCopy: true, VolumeOptions: tmpfs)], []));
        var named = store.ResolveMounts("t2", [new MountSpec(MountType.Volume, "cache", "/cache", VolumeNoCopy: true, VolumeOptions: tmpfs)], []);
        try
        {
            Assert.True(IsMountPoint(anonymous.Source));
            Assert.Equal("size=1m", store.Inspect("cache").Options["o"]);
            Assert.True(IsMountPoint(store.Inspect("cache").Mountpoint));
        }
        finally
        {
            store.Release("t1");
            store.Release("t2");
        }

        Assert.False(IsMountPoint(anonymous.Source));
        Assert.False(Directory.Exists(anonymous.Source));
        Assert.False(IsMountPoint(store.Inspect("cache").Mountpoint));
        Assert.Equal("cache", Assert.Single(store.List()).Name);
    }
}
