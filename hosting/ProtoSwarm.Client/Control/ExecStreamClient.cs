namespace ProtoSwarm.Client.Control;

/// <summary>
/// The client's half of an interactive exec, on a connection the node answered <see cref="Contracts.ExecStarted"/>
/// on: input goes out as Stdin frames (then CloseStdin at its end), sizes as Resize frames, and
/// output is written where it belongs as it arrives, until the Exit frame. One frame is read, and
/// written out, before the next: a slow reader slows the command, never fills memory.
/// </summary>
public sealed class ExecStreamClient(Stream connection) : IDisposable
{
    private readonly ExecFrameWriter _writer = new(connection);

    public void Dispose() => _writer.Dispose();

    /// <summary>
    /// Sends <paramref name="input"/> on a thread of its own (a terminal's or pipe's read blocks) until
    /// it ends, then closes the command's stdin, or, when <paramref name="detached"/> says the user typed the detach keys,
    /// tells the node the client detaches (the command goes on). The task ends then, or when the connection fails.
    /// </summary>
    public Task SendInputAsync(Stream input, Func<bool>? detached = null) =>
        Task.Factory.StartNew(() =>
        {
            var buffer = new byte[ExecFrames.MaxPayload];
            try
            {
                int n;
                while ((n = input.Read(buffer)) > 0)
                {
                    SendAsync(ExecFrameKind.Stdin, buffer.AsMemory(0, n)).GetAwaiter().GetResult();
                }

                SendAsync(detached?.Invoke() == true ? ExecFrameKind.Detach : ExecFrameKind.CloseStdin, ReadOnlyMemory<byte>.Empty).GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                // The session ended (or the connection broke): the exit, or its absence, says it all.
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    public async Task ResizeAsync(ushort rows, ushort columns)
    {
        try
        {
            await SendAsync(ExecFrameKind.Resize, ExecFrames.Resize(rows, columns)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // Gone; the output side notices.
        }
    }

    /// <summary>Relays output until the Exit frame and returns its code; throws <see cref="EndOfStreamException"/>
    /// when the node closed the connection first.</summary>
    public async Task<(int ExitCode, bool TimedOut)> ReceiveOutputAsync(Stream stdout, Stream stderr, CancellationToken ct)
    {
        var buffer = new byte[ExecFrames.MaxPayload];
        while (await ExecFrames.ReadAsync(connection, buffer, ct).ConfigureAwait(false) is var (kind, length))
        {
            switch (kind)
            {
                case ExecFrameKind.Stdout:
                    await stdout.WriteAsync(buffer.AsMemory(0, length), ct).ConfigureAwait(false);
                    await stdout.FlushAsync(ct).ConfigureAwait(false);
                    break;
                case ExecFrameKind.Stderr:
                    await stderr.WriteAsync(buffer.AsMemory(0, length), ct).ConfigureAwait(false);
                    await stderr.FlushAsync(ct).ConfigureAwait(false);
                    break;
                case ExecFrameKind.Exit:
                    return ExecFrames.ReadExit(buffer.AsSpan(0, length));
                default:
                    throw new InvalidDataException($"the node sent an exec frame of kind {kind}, which only a client sends");
            }
        }

        throw new EndOfStreamException("the node closed the exec stream before the command's exit code came");
    }

    private Task SendAsync(ExecFrameKind kind, ReadOnlyMemory<byte> payload) => _writer.WriteAsync(kind, payload);
}
