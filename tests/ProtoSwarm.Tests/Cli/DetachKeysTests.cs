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
        var held = false;
        var output = new byte[typed.Length + 1];

        var n = DetachKeys.Scan(Encoding.ASCII.GetBytes(typed), ref held, output, out var stop);

        Assert.Equal((sent, detached), (Encoding.ASCII.GetString(output, 0, n), stop));
    }

    [Fact]
    public void A_Ctrl_P_At_The_End_Of_A_Read_Waits_For_The_Next_Key()
    {
        var held = false;
        var output = new byte[8];

        Assert.Equal(1, DetachKeys.Scan("a\u0010"u8, ref held, output, out _));
        Assert.True(held);
        Assert.Equal(0, DetachKeys.Scan("\u0011"u8, ref held, output, out var detached));
        Assert.True(detached);
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
