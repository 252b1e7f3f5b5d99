using System.Net;
using ProtoSwarm.Containers.Volumes;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Tests.Containers.Volumes;

public sealed class LocalVolumeOptionsTests
{
    private static Dictionary<string, string> Options(params string[] pairs) =>
        pairs.Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);

    [Fact]
    public void No_Options_Are_A_Plain_Directory()
    {
        Assert.Null(LocalVolumeDriver.Problem(Options()));
        Assert.Null(LocalVolumeOptions.From(Options()));
    }

    [Fact]
    public void Flag_Words_Become_Mount_Flags_And_The_Rest_Is_The_Filesystems()
    {
        var options = LocalVolumeOptions.From(Options("type=tmpfs", "device=tmpfs", "o=size=100m,ro,nosuid,uid=1000,noexec,exec,rshared"))!;

        Assert.Equal(("tmpfs", "tmpfs", "size=100m,uid=1000"), (options.Type, options.Device, options.Data));
        Assert.Equal(LocalVolumeOptions.MS_RDONLY | LocalVolumeOptions.MS_NOSUID | LocalVolumeOptions.MS_SHARED | LocalVolumeOptions.MS_REC, options.Flags);
    }

    [Fact]
    public void A_Bind_Is_A_Flag()
    {
        var options = LocalVolumeOptions.From(Options("type=none", "device=/srv/data", "o=rbind,rw"))!;

        Assert.Equal(LocalVolumeOptions.MS_BIND | LocalVolumeOptions.MS_REC, options.Flags);
        Assert.Equal(string.Empty, options.Data);
    }

    [Theory]
    [InlineData("nfs", "addr=files.example,rw,nfsvers=4", "addr=10.1.2.3,nfsvers=4")]
    [InlineData("nfs", "addr=10.9.9.9,rw", "addr=10.9.9.9")]
    [InlineData("cifs", "addr=files.example", "addr=10.1.2.3")]
    [InlineData("tmpfs", "addr=files.example", "addr=files.example")]
    public void An_Nfs_Or_Cifs_Servers_Name_Is_Given_As_Its_Address(string type, string o, string expected)
    {
        var options = LocalVolumeOptions.From(Options($"type={type}", "device=:/export", $"o={o}"))!;

        var data = options.DataFor(name => name == "files.example" ? [IPAddress.Parse("fd00::1"), IPAddress.Parse("10.1.2.3")] : []);

        Assert.Equal(expected, data);
    }

    [Theory]
    [InlineData("mountpoint=/x", "invalid option: \"mountpoint\"")]
    [InlineData("type=tmpfs", "missing required option: \"device\"")]
    [InlineData("device=/dev/sdb1", "missing required option: \"type\"")]
    [InlineData("o=size=1m", "missing required option: \"device\"")]
    public void Options_The_Local_Driver_Would_Refuse_Are_Refused_With_What_To_Write(string option, string expected)
    {
        var problem = LocalVolumeDriver.Problem(Options(option));

        Assert.NotNull(problem);
        Assert.StartsWith(expected, problem, StringComparison.Ordinal);
    }
}
