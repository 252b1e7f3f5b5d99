using Microsoft.AspNetCore.Http;
using ProtoSwarm.Contracts;
using ProtoSwarm.Networking.Security;
using ProtoSwarm.Pki;
using ProtoSwarm.Registry.Server;

namespace ProtoSwarm.Hosting.Runtime;

/// <summary>
/// Who may use the swarm's registry on a manager. Over the swarm's mutual TLS a node's certificate says
/// its role: workers pull, managers push and may use the peer routes (a manager the store already demoted pulls
/// only), an operator's client certificate (`protoswarm ca issue-client`) pushes. Without a certificate, as on the plain
/// listener for outside tools, basic auth with the swarm's registry tokens: user `pull` or `push`.
/// </summary>
internal sealed class RegistryAccessControl(SwarmCredentials credentials, Func<string, NodeRole?> storeRole, IRegistryAuthorizer tokens) : IRegistryAuthorizer
{
    public string? Challenge => tokens.Challenge;

    public RegistryAccess Authorize(HttpContext http)
    {
        if (http.Connection.ClientCertificate is { } certificate)
        {
            var check = credentials.Check(certificate, PeerUsage.Client);
            if (!check.IsAccepted || check.Peer is not { } peer)
            {
                return RegistryAccess.None;
            }

            if (peer.IsClient)
            {
                return RegistryAccess.Push;
            }

            // The certificate's role lags a demotion until the node renews it; the store's desired role rules.
            var role = storeRole(peer.NodeId) ?? peer.Role;
            return peer.Role == NodeRole.Manager && role == NodeRole.Manager ? RegistryAccess.Manager : RegistryAccess.Pull;
        }

        return tokens.Authorize(http);
    }
}
