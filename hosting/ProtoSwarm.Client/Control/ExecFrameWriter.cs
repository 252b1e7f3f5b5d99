namespace ProtoSwarm.Client.Control;

/// <summary>
/// Writes exec frames on one connection from several threads (output pumps, input, resizes), one frame
/// run at a time so two writers never interleave their bytes. Both ends of an exec use it: the client
/// (<see cref="ExecStreamClient"/>) and the node's relay.
/// </summary>
public sealed class ExecFrameWriter(Stream connection) : IDisposable
{
    private readonly SemaphoreSlim _turn = new(1, 1);

    public void Dispose() => _turn.Dispose();

    /// <summary>Writes the frames; throws <see cref="ObjectDisposedException"/> once the writer is disposed, and what the connection throws.</summary>
    public async Task WriteAsync(ExecFrameKind kind, ReadOnlyMemory<byte> payload)
    {
        await _turn.WaitAsync().ConfigureAwait(false);
        try
        {
            await ExecFrames.WriteAsync(connection, kind, payload, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            _turn.Release();
        }
    }
}
