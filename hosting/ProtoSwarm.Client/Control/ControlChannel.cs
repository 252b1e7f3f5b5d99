namespace ProtoSwarm.Client.Control;

/// <summary>The control socket as a <see cref="IRequestChannel"/>: refusals are returned, not thrown.</summary>
public sealed class ControlChannel : IRequestChannel
{
    private readonly ControlClient _client;

    public ControlChannel(ControlClient client) => _client = client;

    public async Task<object> RequestAsync(object request, TimeSpan timeout, CancellationToken ct)
    {
        try
        {
            return await _client.RequestAsync(request, timeout, ct).ConfigureAwait(false);
        }
        catch (SwarmCommandException e)
        {
            return new Contracts.CommandRejected(e.Code, e.Message);
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
