using ProtoSwarm.Containers.Runtime;
using ProtoSwarm.Containers.Volumes;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Tests.Containers.Runtime;

// Real containers, as root, with bind, tmpfs and volume mounts.
[Collection(ContainerCollection.Name)]
[Trait("Category", "Privileged")]
public sealed class MountTests(ContainerFixture fixture) : IDisposable
{
    private readonly string _host = Directory.CreateTempSubdirectory("protoswarm-mounts-").FullName;

    public void Dispose() => Directory.Delete(_host, recursive: true);

    [Fact]
    public async Task A_Read_Only_Bind_Mount_Is_Seen_And_Refuses_Writes()
    {
        File.WriteAllText(Path.Combine(_host, "hello"), "from the host\n");
        var spec = fixture.Spec("sh", "-c", "cat /srv/in/hello; touch /srv/in/new") with { Mounts = [ContainerMount.Bind(_host, "/srv/in", readOnly: true)] };

        var (exit, output, error) = await fixture.RunAsync(spec);

        Assert.Equal("from the host\n", output);
        Assert.Contains("Read-only file system", error, StringComparison.Ordinal);
        Assert.NotEqual(0, exit.ExitCode);
        Assert.False(File.Exists(Path.Combine(_host, "new")));
    }

    [Fact]
    public async Task A_Writable_Bind_Mount_Is_Written_Through_To_The_Host_And_A_File_Can_Be_Bound()
    {
        var config = Path.Combine(_host, "app.conf");
        File.WriteAllText(config, "key=value\n");
        var output = Directory.CreateDirectory(Path.Combine(_host, "out")).FullName;
        var spec = fixture.Spec("sh", "-c", "echo written > /out/result; cat /etc/app/app.conf") with
        {
            Mounts = [ContainerMount.Bind(output, "/out"), ContainerMount.Bind(config, "/etc/app/app.conf", readOnly: true)],
        };

        var (exit, stdout, error) = await fixture.RunAsync(spec);

        Assert.True(exit.ExitCode == 0, error);
        Assert.Equal("written\n", File.ReadAllText(Path.Combine(output, "result")));
        Assert.Equal("key=value\n", stdout);
    }

    [Fact]
    public async Task A_Tmpfs_Has_Its_Size_And_Mode_And_Is_Nosuid_Nodev_Noexec()
    {
        var spec = fixture.Spec("sh", "-c", "grep ' /cache ' /proc/mounts; dd if=/dev/zero of=/cache/fill bs=1024 count=2048") with
        {
            Mounts = [ContainerMount.Tmpfs("/cache", sizeBytes: 1 << 20, mode: 0x3F8 /* 1770 */)],
        };

        var (_, output, error) = await fixture.RunAsync(spec);

        Assert.StartsWith("tmpfs /cache tmpfs rw,nosuid,nodev,noexec,", output, StringComparison.Ordinal);
        Assert.Contains("size=1024k,mode=1770", output, StringComparison.Ordinal);
        Assert.Contains("No space left on device", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Mount_On_Etc_Keeps_The_Containers_Hostname_Hosts_And_Resolv_Conf_Without_Writing_Them_Into_It()
    {
        var etc = Path.Combine(_host, "etc");
        Directory.CreateDirectory(etc);
        var spec = fixture.Spec("sh", "-c", "cat /etc/hostname; grep web1 /etc/hosts; cat /etc/resolv.conf") with
        {
            Hostname = "web1",
            ResolvConf = "nameserver 10.0.0.53\n",
            Mounts = [ContainerMount.Bind(etc, "/etc")],
        };

        var (exit, output, error) = await fixture.RunAsync(spec);

        Assert.True(exit.ExitCode == 0, error);
        Assert.Equal(["web1", "127.0.1.1\tweb1", "nameserver 10.0.0.53"], output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        // Only the mount points were made in the node's directory, as docker's are; the content is not written there.
        Assert.Equal("", File.ReadAllText(Path.Combine(etc, "hostname")));
        Assert.Equal("", File.ReadAllText(Path.Combine(etc, "resolv.conf")));
    }

    [Fact]
    public async Task Data_Written_To_A_Named_Volume_Survives_The_Tasks_Replacement()
    {
        var volumes = new VolumeStore(Path.Combine(_host, "volumes"));
        var mounts = new[] { new MountSpec(MountType.Volume, "appdata", "/var/lib/app") };

        var first = fixture.Spec("sh", "-c", "echo kept > /var/lib/app/state");
        var (firstExit, _, firstError) = await fixture.RunAsync(first with { Mounts = volumes.ResolveMounts(first.Id, mounts, first.Layers) });
        Assert.Throws<VolumeStoreException>(() => volumes.Remove("appdata"));
        volumes.Release(first.Id);

        var second = fixture.Spec("cat", "/var/lib/app/state");
        var (secondExit, output, secondError) = await fixture.RunAsync(second with { Mounts = volumes.ResolveMounts(second.Id, mounts, second.Layers) });
        volumes.Release(second.Id);

        Assert.True(firstExit.ExitCode == 0, firstError);
        Assert.True(secondExit.ExitCode == 0, secondError);
        Assert.Equal("kept\n", output);
        Assert.Equal("kept\n", File.ReadAllText(Path.Combine(volumes.Inspect("appdata").Mountpoint, "state")));
    }

    [Fact]
    public async Task A_Missing_Bind_Source_Is_Refused_Before_Anything_Starts()
    {
        var spec = fixture.Spec("true") with { Mounts = [ContainerMount.Bind("/no/such/source", "/data")] };

        var e = await Assert.ThrowsAsync<InvalidContainerSpecificationException>(() => LinuxContainer.StartAsync(spec, fixture.Options));

        Assert.Equal("invalid container specification: invalid mount config for type \"bind\": bind source path does not exist: /no/such/source", e.Message);
        Assert.False(Directory.Exists(Path.Combine(fixture.Options.StateRoot, spec.Id)));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_Target_Through_A_Symlink_Pointing_Outside_Stays_Inside_The_Rootfs(bool absolute)
    {
        // An image layer whose /evil points at a directory of the host, by an absolute or a relative path.
        var outside = Directory.CreateDirectory(Path.Combine(_host, "outside")).FullName;
        var layer = Directory.CreateDirectory(Path.Combine(_host, "layer")).FullName;
        File.CreateSymbolicLink(Path.Combine(layer, "evil"), absolute ? outside : "../../../../../../../../.." + outside);
        var source = Directory.CreateDirectory(Path.Combine(_host, "source")).FullName;
        File.WriteAllText(Path.Combine(source, "marker"), "mounted\n");
        var spec = fixture.Spec("cat", "/evil/sub/marker") with
        {
            Layers = [fixture.Layer, layer],
            Mounts = [ContainerMount.Bind(source, "/evil/sub")],
        };

        var (exit, output, error) = await fixture.RunAsync(spec);

        Assert.True(exit.ExitCode == 0, error);
        Assert.Equal("mounted\n", output);
        Assert.Empty(Directory.EnumerateFileSystemEntries(outside));
    }

    [Theory]
    [InlineData(MountPropagation.RShared, true)]
    [InlineData(MountPropagation.RSlave, true)]
    [InlineData(MountPropagation.Slave, true)]
    [InlineData(MountPropagation.RPrivate, false)]
    [InlineData(MountPropagation.Private, false)]
    public async Task A_Mount_The_Node_Makes_Under_The_Source_After_The_Start_Reaches_A_Shared_Or_Slave_Bind_Only(MountPropagation propagation, bool arrives)
    {
        // The source lies on a shared mount, as systemd makes the node's /: docker refuses a shared bind of anything else.
        var shared = Directory.CreateDirectory(Path.Combine(_host, "shared")).FullName;
        Shell($"mount -t tmpfs tmpfs {shared} && mount --make-shared {shared} && mkdir -p {shared}/src/late");
        try
        {
            var spec = fixture.Spec("sh", "-c", "echo started; while [ ! -e /in/go ]; do sleep 0.05; done; cat /in/late/marker; grep -c ' /in/late ' /proc/mounts") with
            {
                Mounts = [ContainerMount.Bind(shared + "/src", "/in", propagation: propagation)],
            };
            await using var container = await LinuxContainer.StartAsync(spec, fixture.Options);
            await ContainerFixture.WaitForOutputAsync(container, "started");

            Shell($"mount -t tmpfs tmpfs {shared}/src/late && echo arrived > {shared}/src/late/marker && touch {shared}/src/go");
            await container.WaitAsync().WaitAsync(TimeSpan.FromSeconds(20));

            var output = ContainerFixture.Printed(container.ReadLogs(), ContainerLogStream.Stdout);
            Assert.Equal(arrives ? "started\narrived\n1\n" : "started\n0\n", output);
        }
        finally
        {
            Shell($"umount -R {shared}");
        }
    }

    [Fact]
    public async Task A_Non_Recursive_Bind_Leaves_The_Mounts_Under_Its_Source_Out()
    {
        var source = Directory.CreateDirectory(Path.Combine(_host, "src")).FullName;
        Directory.CreateDirectory(Path.Combine(source, "sub"));
        Shell($"mount -t tmpfs tmpfs {source}/sub && echo under > {source}/sub/marker");
        try
        {
            var spec = fixture.Spec("sh", "-c", "ls /all/sub; ls /top/sub") with
            {
                Mounts = [ContainerMount.Bind(source, "/all"), ContainerMount.Bind(source, "/top", nonRecursive: true)],
            };

            var (exit, output, error) = await fixture.RunAsync(spec);

            Assert.True(exit.ExitCode == 0, error);
            Assert.Equal("marker\n", output);
        }
        finally
        {
            Shell($"umount -R {source}/sub");
        }
    }

    // Docker 25's read-only bind: the mounts the recursive bind brings along (a tmpfs under the source here) are read-only too,
    // unless bind-recursive=writable asks for docker 24's top-only read-only bind.
    [Theory]
    [InlineData("enabled", false)]
    [InlineData("readonly", false)]
    [InlineData("writable", true)]
    public async Task A_Read_Only_Bind_Is_Read_Only_With_The_Mounts_Under_Its_Source_Unless_Recursion_Is_Writable(string recursion, bool submountWritable)
    {
        var source = Directory.CreateDirectory(Path.Combine(_host, "src")).FullName;
        Directory.CreateDirectory(Path.Combine(source, "sub"));
        Shell($"mount -t tmpfs tmpfs {source}/sub && echo under > {source}/sub/marker");
        try
        {
            var mount = ContainerMount.Bind(source, "/in", readOnly: true) with
            {
                ReadOnlyNonRecursive = recursion == "writable",
                ReadOnlyForceRecursive = recursion == "readonly",
            };
            var spec = fixture.Spec("sh", "-c", "cat /in/sub/marker; touch /in/top && echo top written; touch /in/sub/new && echo sub written; true") with { Mounts = [mount] };

            var (exit, output, error) = await fixture.RunAsync(spec);

            Assert.True(exit.ExitCode == 0, error);
            Assert.Equal(submountWritable ? "under\nsub written\n" : "under\n", output);
            Assert.Contains("touch: /in/top: Read-only file system", error, StringComparison.Ordinal);
            Assert.Equal(!submountWritable, error.Contains("touch: /in/sub/new: Read-only file system", StringComparison.Ordinal));
            Assert.False(File.Exists(Path.Combine(source, "top")));
            Assert.Equal(submountWritable, File.Exists(Path.Combine(source, "sub", "new")));
        }
        finally
        {
            Shell($"umount -R {source}/sub");
        }
    }

    [Fact]
    public async Task A_Read_Only_Volume_Is_Read_Only_With_The_Mounts_Under_It_As_Dockers()
    {
        var volumes = new VolumeStore(Path.Combine(_host, "volumes"));
        var spec = fixture.Spec("sh", "-c", "touch /data/sub/new && echo sub written; true");
        spec = spec with { Mounts = volumes.ResolveMounts(spec.Id, [new MountSpec(MountType.Volume, "rro-data", "/data", ReadOnly: true, VolumeNoCopy: true)], spec.Layers) };
        var data = spec.Mounts[0].Source;
        Directory.CreateDirectory(Path.Combine(data, "sub"));
        Shell($"mount -t tmpfs tmpfs {data}/sub");
        try
        {

            var (exit, output, error) = await fixture.RunAsync(spec);

            Assert.True(exit.ExitCode == 0, error);
            Assert.Equal("", output);
            Assert.Contains("touch: /data/sub/new: Read-only file system", error, StringComparison.Ordinal);
        }
        finally
        {
            Shell($"umount -R {data}/sub");
            volumes.Release(spec.Id);
        }
    }

    [Fact]
    public async Task A_Shared_Bind_Of_A_Source_On_A_Private_Mount_Is_Refused_As_Docker_Does()
    {
        var source = Directory.CreateDirectory(Path.Combine(_host, "private")).FullName;
        Shell($"mount -t tmpfs tmpfs {source} && mount --make-private {source}");
        try
        {
            var spec = fixture.Spec("true") with { Mounts = [ContainerMount.Bind(source, "/data", propagation: MountPropagation.RShared)] };

            var e = await Assert.ThrowsAsync<InvalidContainerSpecificationException>(() => LinuxContainer.StartAsync(spec, fixture.Options));

            Assert.Contains($"path {source} is mounted on {source} but it is not a shared mount", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            Shell($"umount {source}");
        }
    }

    private static void Shell(string command)
    {
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("/bin/sh", ["-c", command]) { RedirectStandardError = true })!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{command}: {error}");
    }
}
