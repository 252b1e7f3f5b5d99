using ProtoSwarm.Client.Control;
using ProtoSwarm.Containers.Runtime;

namespace ProtoSwarm.Hosting.Runtime;

/// <summary>
/// Relays an interactive exec between its process and a control connection in exec frames
/// (<see cref="ExecFrames"/>). Output is read one frame's worth at a time and written before the next
/// read, input likewise: a client that stops reading stops the process (its pipe or terminal fills),
/// and nothing grows in memory. A client that goes away kills the process and what it started, unless it detached first
/// (its detach keys: a Detach frame): then the process goes on, its output read and dropped, as docker's detached exec.
/// </summary>
internal sealed class ExecRelay(Stream connection, ExecSession session) : IDisposable
{
    private readonly ExecFrameWriter _writer = new(connection);
    private volatile bool _detached;
    private readonly TaskCompletionSource _inputRead = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Dispose() => _writer.Dispose();

    public async Task RunAsync(TimeSpan outputDrain)
    {
        using var inputStop = new CancellationTokenSource();
        var outputs = new[] { (session.Stdout, ExecFrameKind.Stdout), (session.Stderr, ExecFrameKind.Stderr) }
            .Where(o => o.Item1 is not null)
            .Select(o => Task.Factory.StartNew(() => Pump(o.Item1!, o.Item2), CancellationToken.None,
                TaskCreationOptions.LongRunning, TaskScheduler.Default))
            .ToList();
        var input = Task.Factory.StartNew(() => ReadInput(inputStop.Token), CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);

        var result = await session.Completion;
        try
        {
            await Task.WhenAll(outputs).WaitAsync(outputDrain);
        }
        catch (TimeoutException)
        {
            // A background child still holds the output: what came so far is what the client gets.
        }

        await inputStop.CancelAsync();
        await input;
        await SendAsync(ExecFrameKind.Exit, ExecFrames.Exit(result.ExitCode, result.TimedOut));
    }

    // A pipe or terminal read blocks: each output has a thread of its own, as long as the process runs.
    private void Pump(Stream output, ExecFrameKind kind)
    {
        var buffer = new byte[ExecFrames.MaxPayload];
        while (true)
        {
            int n;
            try
            {
                n = output.Read(buffer);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                return; // a terminal's master reads EIO once the last process holding it ended
            }

            if (n == 0)
            {
                return;
            }

            if (_detached)
            {
                continue; // read and dropped: a terminal or pipe nobody reads would stop the process
            }

            // The client is gone: a detach it sent before it went may still be in the connection, for the input's thread to read.
            if (!SendAsync(kind, buffer.AsMemory(0, n)).GetAwaiter().GetResult() && !(_inputRead.Task.Wait(TimeSpan.FromSeconds(5)) && _detached))
            {
                session.Kill();
                return;
            }
        }
    }

    // Input is written to a pipe or terminal that blocks while full: a thread of its own too.
    private void ReadInput(CancellationToken stop)
    {
        var buffer = new byte[ExecFrames.MaxPayload];
        var stdin = session.Stdin;
        try
        {
            while (ExecFrames.ReadAsync(connection, buffer, stop).GetAwaiter().GetResult() is var (kind, length))
            {
                switch (kind)
                {
                    case ExecFrameKind.Stdin when stdin is not null:
                        stdin = WriteInput(stdin, buffer.AsSpan(0, length));
                        break;
                    case ExecFrameKind.CloseStdin:
                        stdin?.Dispose();
                        stdin = null;
                        break;
                    case ExecFrameKind.Resize:
                        var (rows, columns) = ExecFrames.ReadResize(buffer.AsSpan(0, length));
                        TryResize(rows, columns);
                        break;
                    case ExecFrameKind.Detach:
                        _detached = true;
                        break;
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            _inputRead.TrySetResult();
            return; // the process ended; the exit frame follows
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ObjectDisposedException)
        {
            // The client went away or spoke nonsense: as good as gone.
        }

        _inputRead.TrySetResult();
        if (!stop.IsCancellationRequested && !_detached)
        {
            session.Kill();
        }
    }

    // Null once the process no longer reads its stdin (EPIPE): later input is dropped, as docker does.
    private static Stream? WriteInput(Stream stdin, ReadOnlySpan<byte> bytes)
    {
        try
        {
            stdin.Write(bytes);
            stdin.Flush();
            return stdin;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private void TryResize(ushort rows, ushort columns)
    {
        try
        {
            session.Resize(rows, columns);
        }
        catch (IOException)
        {
            // The terminal is gone with the process.
        }
    }

    // False once the client is gone, or the exit frame was sent and the writer disposed (a background child's late output).
    private async Task<bool> SendAsync(ExecFrameKind kind, ReadOnlyMemory<byte> payload)
    {
        try
        {
            await _writer.WriteAsync(kind, payload);
            return true;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            return false;
        }
    }
}
