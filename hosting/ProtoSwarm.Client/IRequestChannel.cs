namespace ProtoSwarm.Client;

/// <summary>How a typed client reaches the swarm: the local control socket, or Proto.Remote to a manager.</summary>
public interface IRequestChannel : IAsyncDisposable
{
    /// <summary>Sends one request and returns the raw reply (a CommandRejected is returned, not thrown).</summary>
    Task<object> RequestAsync(object request, TimeSpan timeout, CancellationToken ct);
}
