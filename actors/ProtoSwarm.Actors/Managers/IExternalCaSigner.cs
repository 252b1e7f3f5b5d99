using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Managers;

/// <summary>Forwards a certificate request to the swarm's external CAs (<see cref="CfsslSigner"/>).</summary>
public interface IExternalCaSigner
{
    /// <summary>
    /// Asks each CA of <paramref name="cas"/> in turn, until one answers a certificate that <paramref name="check"/>
    /// accepts (it returns null, or why it refuses it), and returns that answer (PEM). The CAs' HTTPS certificates must
    /// chain to <paramref name="trustedRootsPem"/> or to the CA's own <see cref="ExternalCa.CaCertPem"/>.
    /// </summary>
    /// <exception cref="ExternalCaException">No CA gave a certificate that passed the check; the message says why, per CA.</exception>
    Task<string> SignAsync(IReadOnlyList<ExternalCa> cas, CfsslSignRequest request, string trustedRootsPem, Func<string, string?> check, CancellationToken ct);
}
