using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using ProtoSwarm.Client.Control;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Tests.Contracts;

public class ControlFramingTests
{
    private static CancellationToken Ct => TestTimeout.Token;

    [Fact]
    public async Task Frames_Written_To_A_Stream_Read_Back_In_Order()
    {
        using var stream = new MemoryStream();
        var first = new PromoteNode("r1", "node-a");
        var second = new CommandRejected(RejectCode.NotFound, "No such node: x");

        await ControlFraming.WriteAsync(stream, first, Ct);
        await ControlFraming.WriteAsync(stream, second, Ct);
        stream.Position = 0;

        Assert.Equal(first, await ControlFraming.ReadAsync(stream, Ct));
        Assert.Equal(second, await ControlFraming.ReadAsync(stream, Ct));
        Assert.Null(await ControlFraming.ReadAsync(stream, Ct));
    }

    [Fact]
    public async Task A_Frame_Crosses_A_Real_Socket_Pair()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var client = new TcpClient();
        await client.ConnectAsync((IPEndPoint)listener.LocalEndpoint, Ct);
        using var server = await listener.AcceptTcpClientAsync(Ct);
        var request = new JoinSwarm("r2", "SWMTKN-1-abc", "10.0.0.1:2377", AdvertiseAddr: null);

        await ControlFraming.WriteAsync(client.GetStream(), request, Ct);
        var received = await ControlFraming.ReadAsync(server.GetStream(), Ct);
        client.Client.Shutdown(SocketShutdown.Send);

        Assert.Equal(request, received);
        Assert.Null(await ControlFraming.ReadAsync(server.GetStream(), Ct));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    [InlineData(ControlFraming.MaxFrameBytes + 1)]
    [InlineData(int.MaxValue)]
    public async Task A_Frame_Length_Outside_The_Limits_Is_Refused(int length)
    {
        var header = new byte[4 + 8];
        BinaryPrimitives.WriteInt32BigEndian(header, length);
        using var stream = new MemoryStream(header);

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => ControlFraming.ReadAsync(stream, Ct));
        Assert.Contains(length.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Stream_Closed_Between_Frames_Reads_Null()
    {
        using var stream = new MemoryStream([]);

        Assert.Null(await ControlFraming.ReadAsync(stream, Ct));
    }

    public static TheoryData<string, byte[]> CutFrames()
    {
        var whole = Frame(new ListNodes("r3"));
        return new()
        {
            { "inside the header", whole[..2] },
            { "after the header", whole[..4] },
            { "inside the body", whole[..(whole.Length - 1)] },
        };
    }

    [Theory]
    [MemberData(nameof(CutFrames))]
    public async Task A_Stream_Closed_Inside_A_Frame_Throws_End_Of_Stream(string where, byte[] cut)
    {
        using var stream = new MemoryStream(cut);

        var e = await Record.ExceptionAsync(() => ControlFraming.ReadAsync(stream, Ct));

        Assert.True(e is EndOfStreamException, $"closed {where}: got {e?.GetType().Name ?? "no exception"}");
    }

    [Fact]
    public async Task A_Frame_Of_Garbage_Is_Refused_With_An_Exception()
    {
        var frame = new byte[4 + 5];
        BinaryPrimitives.WriteInt32BigEndian(frame, 5);
        frame.AsSpan(4).Fill(0xff);
        using var stream = new MemoryStream(frame);

        await Assert.ThrowsAsync<MessagePack.MessagePackSerializationException>(() => ControlFraming.ReadAsync(stream, Ct));
    }

    private static byte[] Frame(object message)
    {
        using var stream = new MemoryStream();
        ControlFraming.WriteAsync(stream, message, CancellationToken.None).GetAwaiter().GetResult();
        return stream.ToArray();
    }
}
