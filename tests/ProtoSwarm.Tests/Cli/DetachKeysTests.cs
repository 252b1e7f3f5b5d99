using System.Text;
using ProtoSwarm.Cli.Terminal;

namespace ProtoSwarm.Tests.Cli;

public sealed class DetachKeysTests
{
    [Theory]
    [InlineData("abc", "abc", false)]
    [InlineData("ab\u0010\u0011cd", "ab", true)]
    [InlineData("\u0010x", "\u0010x", false)]
    [InlineData("\u0010\u0010\u0011", "\u0010", true)]
    [InlineData("\u0011\u0010", "\u0011", false)]
    public void Ctrl_P_Ctrl_Q_Detaches_And_Anything_Else_After_Ctrl_P_Is_Sent_With_It(string typed, string sent, bool detached)
    {
        var held = 0;
        var output = new byte[typed.Length + 1];

        var n = DetachKeys.Scan(Encoding.ASCII.GetBytes(typed), DetachKeys.Default.AsSpan(), ref held, output, out var stop);

        Assert.Equal((sent, detached), (Encoding.ASCII.GetString(output, 0, n), stop));
    }

    [Fact]
    public void A_Ctrl_P_At_The_End_Of_A_Read_Waits_For_The_Next_Key()
    {
        var held = 0;
        var output = new byte[8];

        Assert.Equal(1, DetachKeys.Scan("a\u0010"u8, DetachKeys.Default.AsSpan(), ref held, output, out _));
        Assert.Equal(1, held);
        Assert.Equal(0, DetachKeys.Scan("\u0011"u8, DetachKeys.Default.AsSpan(), ref held, output, out var detached));
        Assert.True(detached);
    }

    [Theory]
    [InlineData(null, new byte[] { 0x10, 0x11 })]
    [InlineData("", new byte[] { 0x10, 0x11 })]
    [InlineData("ctrl-p,ctrl-q", new byte[] { 0x10, 0x11 })]
    [InlineData("ctrl-@,ctrl-a,ctrl-z,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_", new byte[] { 0, 1, 26, 27, 28, 29, 30, 31 })]
    [InlineData("ctrl-x,q,DEL", new byte[] { 24, (byte)'q', 127 })]
    [InlineData("e", new byte[] { (byte)'e' })]
    public void Detach_Keys_Are_Read_As_Dockers_Ctrl_Keys_Single_Characters_And_Del(string? given, byte[] expected)
    {
        var (keys, error) = DetachKeys.Parse(given);

        Assert.Null(error);
        Assert.Equal(expected, keys.ToArray());
    }

    [Theory]
    [InlineData("ctrl-1", "Unknown character: 'ctrl-1'")]
    [InlineData("ctrl-P", "Unknown character: 'ctrl-P'")]
    [InlineData("ctrl-p,,ctrl-q", "Unknown character: ''")]
    [InlineData("ctrl-pq", "Unknown character: 'ctrl-pq'")]
    [InlineData("ab", "Unknown character: 'ab'")]
    [InlineData("é", "Unknown character: 'é'")]
    public void A_Key_That_Is_None_Is_Named_In_Dockers_Words(string given, string error)
    {
        Assert.Equal(error, DetachKeys.Parse(given).Error);
    }

    [Theory]
    [InlineData("ab\u0018qcd", "ab", true)]
    [InlineData("a\u0018xq", "a\u0018xq", false)]
    [InlineData("\u0018\u0018q!", "\u0018", true)]
    [InlineData("\u0010\u0011", "\u0010\u0011", false)]
    public void A_Sequence_Of_Choice_Detaches_And_Its_Start_Followed_By_Another_Key_Is_Sent(string typed, string sent, bool detached)
    {
        var keys = DetachKeys.Parse("ctrl-x,q").Keys;
        var held = 0;
        var output = new byte[typed.Length + keys.Length];

        var n = DetachKeys.Scan(Encoding.ASCII.GetBytes(typed), keys.AsSpan(), ref held, output, out var stop);

        Assert.Equal((sent, detached), (Encoding.ASCII.GetString(output, 0, n), stop));
    }

    [Fact]
    public void A_Three_Key_Sequence_Split_Across_Reads_Detaches_And_A_Broken_One_Is_Sent_Whole()
    {
        var keys = DetachKeys.Parse("ctrl-a,ctrl-b,c").Keys;
        var output = new byte[16];
        var held = 0;

        Assert.Equal(1, DetachKeys.Scan("z\u0001"u8, keys.AsSpan(), ref held, output, out _));
        Assert.Equal(0, DetachKeys.Scan("\u0002"u8, keys.AsSpan(), ref held, output, out var notYet));
        Assert.Equal(2, held);
        Assert.Equal(0, DetachKeys.Scan("c"u8, keys.AsSpan(), ref held, output, out var detached));
        Assert.Equal((false, true, 0), (notYet, detached, held));

        var broken = DetachKeys.Scan("\u0001\u0002d"u8, keys.AsSpan(), ref held, output, out var stillOn);
        Assert.Equal(("\u0001\u0002d", false), (Encoding.ASCII.GetString(output, 0, broken), stillOn));

        using var stream = new DetachKeys(new MemoryStream("hi\u0001\u0002cmore"u8.ToArray()), keys);
        using var ended = new DetachKeys(new MemoryStream("x\u0001\u0002"u8.ToArray()), keys);
        Assert.Equal("hi", Encoding.ASCII.GetString(ReadAll(stream)));
        Assert.True(stream.Detached);
        Assert.Equal("x\u0001\u0002", Encoding.ASCII.GetString(ReadAll(ended)));
        Assert.False(ended.Detached);
    }

    [Fact]
    public void The_Stream_Ends_At_The_Keys_And_Gives_A_Held_Ctrl_P_At_The_End_Of_Input()
    {
        using var detaching = new DetachKeys(new MemoryStream("hi\u0010\u0011more"u8.ToArray()));
        using var ending = new DetachKeys(new MemoryStream("x\u0010"u8.ToArray()));

        Assert.Equal("hi", Encoding.ASCII.GetString(ReadAll(detaching)));
        Assert.True(detaching.Detached);
        Assert.Equal("x\u0010", Encoding.ASCII.GetString(ReadAll(ending)));
        Assert.False(ending.Detached);
    }

    private static byte[] ReadAll(Stream stream)
    {
        using var all = new MemoryStream();
        var buffer = new byte[16];
        int n;
        while ((n = stream.Read(buffer)) > 0)
        {
            all.Write(buffer, 0, n);
        }

        return all.ToArray();
    }
}
