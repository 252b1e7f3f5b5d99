using ARSoft.Tools.Net.Dns;

namespace ProtoSwarm.Networking.Dns;

/// <summary>
/// An ARSoft client transport whose sockets are made (and connected) on a thread inside a task's
/// namespace, so forwarded queries leave from there; sending and receiving then run on any thread.
/// </summary>
internal sealed class NamespaceClientTransport(IClientTransport inner, INamespaceRunner runner) : IClientTransport
{
    public ushort MaximumAllowedQuerySize => inner.MaximumAllowedQuerySize;

    public bool SupportsReliableTransfer => inner.SupportsReliableTransfer;

    public bool SupportsMulticastTransfer => inner.SupportsMulticastTransfer;

    // A pooled connection would be handed to another caller without passing through the runner.
    public bool SupportsPooledConnections => false;

    // The transports make their socket before their first await, so starting ConnectAsync on the
    // namespace's thread is enough: the rest of the connect and all I/O may continue on any thread.
    public Task<IClientConnection?> ConnectAsync(DnsClientEndpointInfo endpointInfo, int queryTimeout, CancellationToken token = default) =>
        runner.RunAsync(() => inner.ConnectAsync(endpointInfo, queryTimeout, token)).Unwrap();

    public Task<IClientConnection?> GetPooledConnectionAsync(DnsClientEndpointInfo endpointInfo, CancellationToken token = default) =>
        Task.FromResult<IClientConnection?>(null);

    public void Dispose() => inner.Dispose();
}
