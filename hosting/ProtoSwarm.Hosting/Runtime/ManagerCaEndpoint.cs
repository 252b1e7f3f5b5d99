using Proto;
using ProtoSwarm.Contracts;
using ProtoSwarm.Networking.Security;
using ProtoSwarm.Pki;

namespace ProtoSwarm.Hosting.Runtime;

/// <summary>A manager's CA endpoint: the root from its replica; joins and renewals go to the managers' API, which relays them to the leader.</summary>
internal sealed class ManagerCaEndpoint : ICertificateAuthorityEndpoint
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private readonly SwarmMember _member;

    public ManagerCaEndpoint(SwarmMember member) => _member = member;

    public CaRootInfo? Root =>
        _member.Store?.Current.Get<ClusterObject>(ClusterObject.DefaultId) is { RootCaPem.Length: > 0 } cluster
            ? new CaRootInfo(cluster.ClusterId, cluster.RootCaPem)
            : null;

    public Task<object> JoinAsync(JoinRequest request, CancellationToken ct) => AskAsync(request, ct);

    public Task<object> RenewAsync(SwarmPeer caller, RenewCertificate request, CancellationToken ct) => AskAsync(request, ct);

    private async Task<object> AskAsync(object request, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(Timeout);
        try
        {
            return await _member.System.Root.RequestAsync<object>(_member.ManagerApi, request, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            return new CommandRejected(RejectCode.Unavailable, "The swarm's managers did not answer in time; try again in a few seconds.");
        }
    }
}
