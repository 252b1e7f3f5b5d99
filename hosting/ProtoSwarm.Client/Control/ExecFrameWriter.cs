namespace ProtoSwarm.Client.Control;

/// <summary>
/// Writes exec frames on one connection from several threads (output pumps, input, resizes), one frame
/// run at a time so two writers never interleave their bytes. Both ends of an exec use it: the client
/// (<see cref="ExecStreamClient"/>) and the node's relay.
/// </summary>
public sealed class ExecFrameWriter(Stream connection) : IDisposable
{
    // Never disposed: a writer disposed while another thread holds the turn would otherwise fail that thread's release
    // (ObjectDisposedException in place of what the connection threw); it holds no wait handle, so it has nothing to free.
    private readonly SemaphoreSlim _turn = new(1, 1);
    private volatile bool _disposed;

    public void Dispose() => _disposed = true;

    /// <summary>Writes the frames; throws <see cref="ObjectDisposedException"/> once the writer is disposed, and what the connection throws.</summary>
    public async Task WriteAsync(ExecFrameKind kind, ReadOnlyMemory<byte> payload)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _turn.WaitAsync().ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            await ExecFrames.WriteAsync(connection, kind, payload, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            _turn.Release();
        }
    }
}
