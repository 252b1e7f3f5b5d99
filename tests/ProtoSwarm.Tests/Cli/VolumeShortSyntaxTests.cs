using ProtoSwarm.Cli.Compose;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Tests.Cli;

public class VolumeShortSyntaxTests
{
    private const string Base = "/home/ann/app";

    public static TheoryData<string, MountSpec> Good() => new()
    {
        { "vol:/data", new MountSpec(MountType.Volume, "vol", "/data") },
        { "vol:/data:ro", new MountSpec(MountType.Volume, "vol", "/data", ReadOnly: true) },
        { "vol:/data:nocopy", new MountSpec(MountType.Volume, "vol", "/data", VolumeNoCopy: true) },
        { "vol:/data:ro,nocopy", new MountSpec(MountType.Volume, "vol", "/data", ReadOnly: true, VolumeNoCopy: true) },
        { "/host:/ctr:rw", new MountSpec(MountType.Bind, "/host", "/ctr") },
        { "/host/:/ctr:ro", new MountSpec(MountType.Bind, "/host", "/ctr", ReadOnly: true) },
        { "./rel:/ctr", new MountSpec(MountType.Bind, "/home/ann/app/rel", "/ctr") },
        { "../shared/conf:/etc/app:ro", new MountSpec(MountType.Bind, "/home/ann/shared/conf", "/etc/app", ReadOnly: true) },
        { ".:/src", new MountSpec(MountType.Bind, "/home/ann/app", "/src") },
        { "~/cache:/cache", new MountSpec(MountType.Bind, "/home/ann/cache", "/cache") },
        { "/ctr", new MountSpec(MountType.Volume, "", "/ctr") },
        // A one-character key: the volume's name on the swarm is STACK_v, which docker's rule takes.
        { "v:/v", new MountSpec(MountType.Volume, "v", "/v") },
        // Options docker's volumespec does not know are ignored, as docker ignores them; a propagation is kept, the last one given.
        { "vol:/data:rx", new MountSpec(MountType.Volume, "vol", "/data") },
        { "/tmp:/t:cached", new MountSpec(MountType.Bind, "/tmp", "/t") },
        { "/srv:/s:ro,z,delegated,rprivate", new MountSpec(MountType.Bind, "/srv", "/s", ReadOnly: true) { BindPropagation = MountPropagation.RPrivate } },
        { "/srv:/data:ro,rslave", new MountSpec(MountType.Bind, "/srv", "/data", ReadOnly: true) { BindPropagation = MountPropagation.RSlave } },
        { "/mnt/media:/media:rshared", new MountSpec(MountType.Bind, "/mnt/media", "/media") { BindPropagation = MountPropagation.RShared } },
        { "./m:/m:slave,shared", new MountSpec(MountType.Bind, "/home/ann/app/m", "/m") { BindPropagation = MountPropagation.Shared } },
        { "~/p:/p:private", new MountSpec(MountType.Bind, "/home/ann/p", "/p") { BindPropagation = MountPropagation.Private } },
    };

    [Theory]
    [MemberData(nameof(Good))]
    public void Short_Forms_Become_Docker_Mounts(string text, MountSpec expected)
    {
        var result = VolumeShortSyntax.Parse(text, Base, "/home/ann");

        Assert.True(result.IsValid, result.Error);
        Assert.Equal(expected, result.Value);
    }

    [Theory]
    [InlineData("", "is not a volume")]
    [InlineData("a:b:c:d", "is not a volume")]
    [InlineData("vol::ro", "is not a volume")]
    [InlineData("vol:data", "the target 'data' is not an absolute path")]
    [InlineData("vol:/", "the target cannot be '/'")]
    [InlineData("vol:/data:rshared", "propagation 'rshared' is for bind mounts")]
    [InlineData("-vol:/data", "'-vol' is not a volume key")]
    [InlineData("v@l:/data", "'v@l' is not a volume key")]
    [InlineData("./conf:/etc/app:nocopy", "nocopy is for named volumes")]
    [InlineData("~bob/x:/x", "another user's home")]
    public void Bad_Short_Forms_Say_What_Is_Wrong(string text, string expected)
    {
        var result = VolumeShortSyntax.Parse(text, Base, "/home/ann");

        Assert.False(result.IsValid);
        Assert.Contains(expected, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_Relative_Path_Needs_An_Absolute_Base_And_Tilde_A_Home()
    {
        Assert.Contains("is not an absolute path", VolumeShortSyntax.Parse("./x:/x", "app").Error, StringComparison.Ordinal);
        Assert.Contains("needs a home directory", VolumeShortSyntax.Parse("~/x:/x", Base).Error, StringComparison.Ordinal);
    }
}
