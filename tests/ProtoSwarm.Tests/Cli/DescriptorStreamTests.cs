using System.Text;
using ProtoSwarm.Cli.Terminal;

namespace ProtoSwarm.Tests.Cli;

/// <summary>
/// `exec -i`'s standard streams write and read through the descriptor's own file offset, as a shell's
/// commands do: `(echo start; protoswarm exec -i ...; echo end) > file` keeps all three in order.
/// </summary>
public sealed class DescriptorStreamTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), "protoswarm-descriptor-" + Guid.NewGuid().ToString("N"));

    public void Dispose() => File.Delete(_path);

    [Fact]
    public async Task Writes_Continue_At_The_Shared_Offset_And_Move_It()
    {
        using var file = File.OpenHandle(_path, FileMode.Create, FileAccess.ReadWrite);
        var fd = (int)file.DangerousGetHandle();
        using (var before = new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: false), FileAccess.Write, bufferSize: 0))
        {
            before.Write("start\n"u8);
        }

        // What the shell wrote before moved the offset; the exec's output goes after it and moves it on.
        var shellOffset = Tmds.Linux.LibC.lseek(fd, 0, Tmds.Linux.LibC.SEEK_END);
        var output = new DescriptorStream(fd, FileAccess.Write);
        await output.WriteAsync("hi\n"u8.ToArray());
        var after = Tmds.Linux.LibC.lseek(fd, 0, Tmds.Linux.LibC.SEEK_CUR);
        new DescriptorStream(fd, FileAccess.Write).Write("end\n"u8);

        Assert.Equal(6, shellOffset);
        Assert.Equal(9, after);
        Assert.Equal("start\nhi\nend\n", await File.ReadAllTextAsync(_path));
    }

    [Fact]
    public void Reads_Take_What_Is_Left_From_The_Shared_Offset_And_Leave_The_Rest()
    {
        File.WriteAllText(_path, "line1\nrest\n");
        using var file = File.OpenHandle(_path, FileMode.Open, FileAccess.Read);
        var fd = (int)file.DangerousGetHandle();
        Tmds.Linux.LibC.lseek(fd, 6, Tmds.Linux.LibC.SEEK_SET); // `read line1` in the shell took the first line

        var buffer = new byte[64];
        var input = new DescriptorStream(fd, FileAccess.Read);
        var n = input.Read(buffer);

        Assert.Equal("rest\n", Encoding.ASCII.GetString(buffer, 0, n));
        Assert.Equal(0, input.Read(buffer));
        Assert.Equal(11, Tmds.Linux.LibC.lseek(fd, 0, Tmds.Linux.LibC.SEEK_CUR));
    }
}
