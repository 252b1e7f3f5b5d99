using ProtoSwarm.Client.Control;

namespace ProtoSwarm.Tests.Hosting;

/// <summary>The exec stream's frames on the control socket: kind, 4-byte length, bounded payload.</summary>
public sealed class ExecFramesTests
{
    [Fact]
    public async Task Frames_Of_Every_Kind_Read_Back_As_Written_In_Order()
    {
        using var wire = new MemoryStream();
        await ExecFrames.WriteAsync(wire, ExecFrameKind.Stdin, "hi\n"u8.ToArray(), default);
        await ExecFrames.WriteAsync(wire, ExecFrameKind.Resize, ExecFrames.Resize(40, 132), default);
        await ExecFrames.WriteAsync(wire, ExecFrameKind.CloseStdin, ReadOnlyMemory<byte>.Empty, default);
        await ExecFrames.WriteAsync(wire, ExecFrameKind.Stderr, "oops"u8.ToArray(), default);
        await ExecFrames.WriteAsync(wire, ExecFrameKind.Exit, ExecFrames.Exit(-1, timedOut: true), default);
        wire.Position = 0;
        var buffer = new byte[ExecFrames.MaxPayload];

        var read = new List<(ExecFrameKind, byte[])>();
        while (await ExecFrames.ReadAsync(wire, buffer, default) is var (kind, length))
        {
            read.Add((kind, buffer[..length]));
        }

        Assert.Equal([ExecFrameKind.Stdin, ExecFrameKind.Resize, ExecFrameKind.CloseStdin, ExecFrameKind.Stderr, ExecFrameKind.Exit], read.Select(f => f.Item1));
        Assert.Equal("hi\n"u8.ToArray(), read[0].Item2);
        Assert.Equal(((ushort)40, (ushort)132), ExecFrames.ReadResize(read[1].Item2));
        Assert.Empty(read[2].Item2);
        Assert.Equal("oops"u8.ToArray(), read[3].Item2);
        Assert.Equal((-1, true), ExecFrames.ReadExit(read[4].Item2));
    }

    [Fact]
    public async Task A_Write_Larger_Than_A_Frame_Is_Cut_Into_Frames_Of_At_Most_MaxPayload()
    {
        var payload = new byte[ExecFrames.MaxPayload * 2 + 5];
        new Random(7).NextBytes(payload);
        using var wire = new MemoryStream();
        await ExecFrames.WriteAsync(wire, ExecFrameKind.Stdout, payload, default);
        wire.Position = 0;
        var buffer = new byte[ExecFrames.MaxPayload];

        var lengths = new List<int>();
        var joined = new List<byte>();
        while (await ExecFrames.ReadAsync(wire, buffer, default) is var (kind, length))
        {
            Assert.Equal(ExecFrameKind.Stdout, kind);
            lengths.Add(length);
            joined.AddRange(buffer[..length]);
        }

        Assert.Equal([ExecFrames.MaxPayload, ExecFrames.MaxPayload, 5], lengths);
        Assert.Equal(payload, joined.ToArray());
        Assert.Equal(payload.Length + 3 * ExecFrames.HeaderBytes, wire.Length);
    }

    [Theory]
    [InlineData(new byte[] { 9, 0, 0, 0, 0 }, "unknown kind 9")]
    [InlineData(new byte[] { 1, 0, 0x80, 0, 1 }, "outside 0..32768")]
    [InlineData(new byte[] { 1, 0xFF, 0xFF, 0xFF, 0xFF }, "outside 0..32768")]
    public async Task A_Bad_Header_Is_Refused_Before_Anything_Is_Allocated_For_It(byte[] header, string expected)
    {
        using var wire = new MemoryStream(header);

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => ExecFrames.ReadAsync(wire, new byte[ExecFrames.MaxPayload], default));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Stream_That_Ends_Between_Frames_Is_The_End_And_Inside_One_Is_An_Error()
    {
        var buffer = new byte[ExecFrames.MaxPayload];

        Assert.Null(await ExecFrames.ReadAsync(new MemoryStream(), buffer, default));
        await Assert.ThrowsAsync<EndOfStreamException>(() => ExecFrames.ReadAsync(new MemoryStream([1, 0, 0]), buffer, default));
        await Assert.ThrowsAsync<EndOfStreamException>(() => ExecFrames.ReadAsync(new MemoryStream([1, 0, 0, 0, 4, 65]), buffer, default));
    }

    [Fact]
    public void Resize_And_Exit_Payloads_Of_The_Wrong_Size_Are_Refused()
    {
        Assert.Throws<InvalidDataException>(() => ExecFrames.ReadResize([0, 1, 2]));
        Assert.Throws<InvalidDataException>(() => ExecFrames.ReadExit([0, 0, 0, 1]));
    }

    [Fact]
    public async Task A_Writer_Disposed_During_A_Write_Lets_That_Write_End_With_The_Connections_Error_And_Refuses_The_Next()
    {
        var connection = new BlockedStream();
        var writer = new ExecFrameWriter(connection);
        var writing = writer.WriteAsync(ExecFrameKind.Stdout, "x"u8.ToArray());
        await connection.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10));

        writer.Dispose();
        connection.Fail.SetException(new IOException("broken pipe"));

        Assert.Equal("broken pipe", (await Assert.ThrowsAsync<IOException>(() => writing)).Message);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => writer.WriteAsync(ExecFrameKind.Stdout, "y"u8.ToArray()));
    }

    /// <summary>A connection whose first write waits until the test fails it.</summary>
    private sealed class BlockedStream : MemoryStream
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource Fail { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Entered.TrySetResult();
            await Fail.Task;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }
}
