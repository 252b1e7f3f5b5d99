using ProtoSwarm.Contracts;
using ProtoSwarm.Pki;

namespace ProtoSwarm.Networking.Security;

/// <summary>What a manager's CA endpoint does; the manager's node host implements it over the managers' API.</summary>
public interface ICertificateAuthorityEndpoint
{
    /// <summary>The swarm's root(s), for a joining node to compare with its token; null until this manager knows them.</summary>
    CaRootInfo? Root { get; }

    /// <summary>Answers <see cref="JoinAccepted"/> or <see cref="CommandRejected"/>.</summary>
    Task<object> JoinAsync(JoinRequest request, CancellationToken ct);

    /// <summary>Answers <see cref="CertificateIssued"/> or <see cref="CommandRejected"/>; the node is the one the caller's certificate names.</summary>
    Task<object> RenewAsync(SwarmPeer caller, RenewCertificate request, CancellationToken ct);
}
