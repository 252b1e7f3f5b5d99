using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;
using ProtoSwarm.Contracts;
using ProtoSwarm.Networking.Security;
using ProtoSwarm.Pki;
using ProtoSwarm.Registry.Server;

namespace ProtoSwarm.Hosting.Runtime;

/// <summary>
/// Who may use the swarm's registry on a manager. Over the swarm's mutual TLS a node's certificate says
/// its role: workers pull, managers push (a manager the store already demoted pulls only), an operator's
/// client certificate (`protoswarm ca issue-client`) pushes. Without a certificate, as on the plain
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
            return peer.Role == NodeRole.Manager && role == NodeRole.Manager ? RegistryAccess.Push : RegistryAccess.Pull;
        }

        return tokens.Authorize(http);
    }
}

/// <summary>
/// The other managers' copies of the registry's blobs. A blob is stored on the manager that received it;
/// another manager asked for it fetches it once over the swarm's mutual TLS with its own certificate,
/// then keeps it. A fetch asks the peer not to ask its own peers in turn (<see cref="RegistryServer.PeerFetchHeader"/>),
/// so two managers that both lack a blob never ask each other in a loop.
/// </summary>
internal sealed class ManagerBlobPeers(Func<IReadOnlyList<string>> peerAddresses, HttpClient http) : IBlobPeers
{
    public async Task<bool> FetchAsync(string repository, string digest, Stream destination, CancellationToken ct)
    {
        foreach (var address in peerAddresses())
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"https://{address}/v2/{repository}/blobs/{digest}"));
            request.Headers.Add(RegistryServer.PeerFetchHeader, "1");
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/octet-stream"));
            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            }
            catch (Exception e) when (e is HttpRequestException or IOException || (e is TaskCanceledException && !ct.IsCancellationRequested))
            {
                continue; // that manager is down or cut off: try the next one
            }

            using (response)
            {
                if (!response.IsSuccessStatusCode)
                {
                    continue;
                }

                // Once bytes flow, a failure is the caller's: it discards what was written and checks the digest.
                await using var body = await response.Content.ReadAsStreamAsync(ct);
                await body.CopyToAsync(destination, ct);
                return true;
            }
        }

        return false;
    }
}
