using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;
using Proto.Remote;
using ProtoSwarm.Contracts;
using ProtoSwarm.Networking.Remote;
using ProtoSwarm.Pki;

namespace ProtoSwarm.Networking.Security;

/// <summary>
/// Sits in front of Proto.Remote's endpoint on every node. A call without a valid swarm certificate is refused
/// whole; on an accepted connection each message of each batch is checked against <see cref="RemoteAccessPolicy"/>
/// for the certificate's role, and a refused one is re-addressed to the <see cref="RemoteAccessPolicy.DeniedTarget"/>
/// actor, which answers the caller with PermissionDenied. The certificate is checked again at every batch, so a
/// removed node or an expired certificate loses a connection it already had. A removed node's calls are refused
/// whole, with the <see cref="RemovalNotice"/> that tells it so: the handshake lets its certificate through for that
/// alone.
/// </summary>
internal sealed partial class RemoteAccessInterceptor : Interceptor
{
    private readonly RemoteAccessPolicy _policy;
    private readonly SwarmCredentials _credentials;
    private readonly ILogger _logger;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string NodeId, string Type), DateTime> _lastLogged = new();

    public RemoteAccessInterceptor(RemoteAccessPolicy policy, SwarmCredentials credentials, ILogger<RemoteAccessInterceptor> logger)
    {
        _policy = policy;
        _credentials = credentials;
        _logger = logger;
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        var (peer, certificate) = Authenticate(context);
        return requestStream is IAsyncStreamReader<RemoteMessage> messages
            ? continuation((IAsyncStreamReader<TRequest>)(object)new GuardedReader(messages, peer, certificate, this, RemoteEnd(context)), responseStream, context)
            : continuation(requestStream, responseStream, context);
    }

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        // Proto.Remote's diagnostics (process lists): managers only.
        var (peer, _) = Authenticate(context);
        return peer is { IsClient: false, Role: Contracts.NodeRole.Manager }
            ? continuation(request, context)
            : throw new RpcException(new Status(StatusCode.PermissionDenied, "Proto.Remote diagnostics need a manager's certificate."));
    }

    private static string RemoteEnd(ServerCallContext context)
    {
        var connection = context.GetHttpContext().Connection;
        var ip = connection.RemoteIpAddress is { IsIPv4MappedToIPv6: true } mapped ? mapped.MapToIPv4() : connection.RemoteIpAddress;
        return ip is null ? context.Peer : $"{ip}:{connection.RemotePort}";
    }

    private (SwarmPeer Peer, X509Certificate2 Certificate) Authenticate(ServerCallContext context)
    {
        var certificate = context.GetHttpContext().Connection.ClientCertificate;
        var checkedPeer = _credentials.Check(certificate, PeerUsage.Client);
        if (checkedPeer.Refusal == CertificateRefusal.RemovedNode
            && SwarmPeer.TryParse(certificate!.SubjectName, out var removed, out _))
        {
            LogRefusal(removed, "(a call)", context.Method, "the node was removed from the swarm; it is told so");
            throw RemovalNotice.Refusal(removed.NodeId);
        }

        if (!checkedPeer.IsAccepted)
        {
            LogRefusedCall(_logger, context.Peer, checkedPeer.Reason);
            throw new RpcException(new Status(StatusCode.PermissionDenied, $"This swarm only accepts its own nodes' certificates: {checkedPeer.Reason}."));
        }

        return (checkedPeer.Peer!, certificate!);
    }

    private void Guard(MessageBatch batch, SwarmPeer peer, X509Certificate2 certificate)
    {
        if (_credentials.Validator.IsRemoved(peer.NodeId))
        {
            // Removed while connected: nothing more reaches this node's actors. Ending the call sends the notice
            // (and the node's next call, on this connection or a new one, is refused with it at the start).
            LogRefusal(peer, "(a message)", string.Empty, "the node was removed from the swarm; it is told so");
            throw RemovalNotice.Refusal(peer.NodeId);
        }

        var expired = certificate.NotAfter.ToUniversalTime() <= DateTime.UtcNow;
        var redirectIndex = -1;
        foreach (var envelope in batch.Envelopes)
        {
            var typeName = envelope.TypeId >= 0 && envelope.TypeId < batch.TypeNames.Count ? batch.TypeNames[envelope.TypeId] : string.Empty;
            var target = envelope.Target >= 0 && envelope.Target < batch.Targets.Count ? batch.Targets[envelope.Target] : string.Empty;
            var allowed = !expired && _policy.Allows(peer, typeName, target);
            var impersonates = allowed && _policy.MustNameItself(peer, typeName) && !NamesItself(envelope, typeName, peer);
            if (allowed && !impersonates)
            {
                continue;
            }

            if (redirectIndex < 0)
            {
                redirectIndex = batch.Targets.Count;
                batch.Targets.Add(RemoteAccessPolicy.DeniedTarget);
            }

            envelope.Target = redirectIndex;
            envelope.TargetRequestId = 0;
            _policy.Refused.Count(typeName);
            LogRefusal(peer, typeName, target, expired ? "its certificate expired"
                : impersonates ? "it names another node than the certificate's" : "its role does not allow it");
        }
    }

    /// <summary>
    /// Decodes a worker's message about itself (heartbeats and task reports: a few per second per node) to read the
    /// node id inside; a message that does not decode as its type counts as naming someone else.
    /// </summary>
    private static bool NamesItself(MessageEnvelope envelope, string typeName, SwarmPeer peer)
    {
        if (envelope.SerializerId != ContractSerializer.SerializerId)
        {
            return false;
        }

        try
        {
            return RemoteAccessPolicy.NamesItself(peer, ContractRegistry.Deserialize(typeName, envelope.MessageData.Memory));
        }
        catch (Exception e) when (e is MessagePack.MessagePackSerializationException or ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>One line per peer and message type per minute: a removed node keeps trying, and the log should say so once.</summary>
    private void LogRefusal(SwarmPeer peer, string typeName, string target, string reason)
    {
        var now = DateTime.UtcNow;
        var key = (peer.NodeId, typeName);
        if (_lastLogged.TryGetValue(key, out var last) && now - last < TimeSpan.FromMinutes(1))
        {
            return;
        }

        _lastLogged[key] = now;
        LogRefusedMessage(_logger, typeName, target, peer.NodeId, peer.IsClient ? "client" : peer.Role.ToString().ToLowerInvariant(), reason);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a connection from {Peer}: {Reason}")]
    private static partial void LogRefusedCall(ILogger logger, string peer, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused {Type} to {Target} from {NodeId} ({Role}): {Reason} (repeats of this are counted, not logged, for a minute)")]
    private static partial void LogRefusedMessage(ILogger logger, string type, string target, string nodeId, string role, string reason);

    /// <summary>
    /// Guards each batch, and records a client-mode system's connection (its ConnectRequest, the stream's first message)
    /// in <see cref="RemoteAccessPolicy.Clients"/> until the stream ends, however it ends.
    /// </summary>
    private sealed class GuardedReader(IAsyncStreamReader<RemoteMessage> inner, SwarmPeer peer, X509Certificate2 certificate, RemoteAccessInterceptor owner,
        string remoteEnd)
        : IAsyncStreamReader<RemoteMessage>
    {
        private string? _clientSystem;

        public RemoteMessage Current => inner.Current;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            bool more;
            try
            {
                more = await inner.MoveNext(cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                Closed();
                throw;
            }

            if (!more)
            {
                Closed();
                return false;
            }

            if (inner.Current.MessageBatch is { } batch)
            {
                owner.Guard(batch, peer, certificate);
            }
            else if (inner.Current.ConnectRequest?.ClientConnection is { MemberId.Length: > 0 } client && _clientSystem is null)
            {
                _clientSystem = client.MemberId;
                owner._policy.Clients.Opened(client.MemberId, remoteEnd);
            }

            return true;
        }

        private void Closed()
        {
            if (_clientSystem is not null)
            {
                owner._policy.Clients.Closed(_clientSystem, remoteEnd);
            }
        }
    }
}
