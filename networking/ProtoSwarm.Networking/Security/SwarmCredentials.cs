using System.Collections.Concurrent;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using ProtoSwarm.Pki;

namespace ProtoSwarm.Networking.Security;

/// <summary>
/// A node's (or an operator client's) TLS identity and what it trusts: its certificate with the private key,
/// and a validator over the swarm's roots. Both are swapped whole when the certificate is renewed, the roots
/// change or a node is removed; connections made afterwards use the new ones. Refused peers are counted by
/// reason, for logs, `info` and tests.
/// </summary>
public sealed class SwarmCredentials
{
    private readonly ConcurrentDictionary<CertificateRefusal, int> _refusals = new();
    private readonly Lock _gate = new(); // each change starts from the current identity: none is lost to another
    private volatile Identity _current;

    public SwarmCredentials(X509Certificate2 certificate, SwarmCertificateValidator validator, IEnumerable<X509Certificate2>? intermediates = null)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(validator);
        if (!certificate.HasPrivateKey)
            throw new ArgumentException("the node's certificate must carry its private key", nameof(certificate));
        if (!SwarmPeer.TryParse(certificate.SubjectName, out var self, out var error))
            throw new ArgumentException($"the certificate does not name a swarm node: {error}", nameof(certificate));
        _current = new Identity(certificate, validator, self, Context(certificate, intermediates));
    }

    /// <summary>
    /// Credentials from PEM texts: the certificate followed by what it presents after itself (the cross-signed root
    /// during a CA rotation), its private key, and the roots to trust; the cluster is the one the certificate names
    /// unless given.
    /// </summary>
    public static SwarmCredentials FromPem(string chainPem, string keyPem, string rootsPem, string? clusterId = null)
    {
        var certificate = X509Conversions.ToX509Certificate2(chainPem, keyPem);
        if (!SwarmPeer.TryParse(certificate.SubjectName, out var self, out var error))
            throw new ArgumentException($"the certificate is not a swarm certificate: {error}", nameof(chainPem));
        var intermediates = X509Conversions.ReadCertificates(chainPem)[1..];
        var validator = new SwarmCertificateValidator(X509Conversions.ReadCertificates(rootsPem), clusterId ?? self.ClusterId, intermediates: intermediates);
        return new SwarmCredentials(certificate, validator, intermediates);
    }

    /// <summary>Raised for every peer certificate refused, on the handshake's thread.</summary>
    public event Action<PeerValidation>? Refused;

    /// <summary>
    /// Raised, with the manager's node id, when a manager refused a call of this node because the swarm removed it
    /// (<see cref="RemovalNotice"/>); raised again at every refused call, so a handler must be idempotent.
    /// </summary>
    public event Action<string>? RemovedBySwarm;

    public X509Certificate2 Certificate => _current.Certificate;

    /// <summary>The certificate and what a server presents after it (the cross-signed new root during a CA rotation).</summary>
    public SslStreamCertificateContext ServerContext => _current.ServerContext;

    public SwarmCertificateValidator Validator => _current.Validator;

    /// <summary>Who this certificate says we are.</summary>
    public SwarmPeer Self => _current.Self;

    public IReadOnlyDictionary<CertificateRefusal, int> Refusals => _refusals;

    public int RefusalCount => _refusals.Values.Sum();

    /// <summary>A renewed certificate (same trust), with what to present after it.</summary>
    public void Renew(X509Certificate2 certificate, IEnumerable<X509Certificate2>? intermediates = null)
    {
        lock (_gate)
        {
            var next = new SwarmCredentials(certificate, Validator, intermediates);
            _current = next._current;
        }
    }

    /// <summary>New roots to trust and known intermediates, from PEM texts (a CA rotation starting or ending).</summary>
    public void TrustRoots(string rootsPem, string intermediatesPem)
    {
        var roots = X509Conversions.ReadCertificates(rootsPem);
        var intermediates = X509Conversions.ReadCertificates(intermediatesPem);
        lock (_gate)
        {
            _current = _current with { Validator = _current.Validator.WithRoots(roots, intermediates) };
        }
    }

    /// <summary>New trust: other roots (a CA rotation) or another list of removed nodes.</summary>
    public void Trust(SwarmCertificateValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        lock (_gate)
        {
            _current = _current with { Validator = validator };
        }
    }

    /// <summary>
    /// Checks a peer and counts a refusal. An accepted peer's CA certificates after its own are kept as known
    /// intermediates (<see cref="SwarmCertificateValidator.WithIntermediatesFrom"/>): how a node that missed the start
    /// of a CA rotation learns the cross-signed root from a manager's server chain, and so accepts the managers'
    /// client certificates from the new root, which come without it.
    /// </summary>
    public PeerValidation Check(X509Certificate2? certificate, PeerUsage usage, IEnumerable<X509Certificate2>? intermediates = null)
    {
        var presented = intermediates?.ToList() ?? [];
        var result = Validator.Validate(certificate, usage, presented);
        if (!result.IsAccepted)
        {
            _refusals.AddOrUpdate(result.Refusal!.Value, 1, (_, n) => n + 1);
            Refused?.Invoke(result);
        }
        else if (presented.Count > 0)
        {
            Learn(presented);
        }

        return result;
    }

    private void Learn(List<X509Certificate2> presented)
    {
        var validator = Validator;
        if (ReferenceEquals(validator.WithIntermediatesFrom(presented), validator))
        {
            return; // the usual case, decided without the lock: nothing new
        }

        lock (_gate)
        {
            _current = _current with { Validator = _current.Validator.WithIntermediatesFrom(presented) };
        }
    }

    internal void NoticeRemoval(string managerNodeId) => RemovedBySwarm?.Invoke(managerNodeId);

    /// <summary>
    /// For SslStream, Kestrel and SocketsHttpHandler: checks the peer with <see cref="Check"/> (the platform's own
    /// verdict, which is about the system store, is ignored). <paramref name="allowNone"/>: a peer without a
    /// certificate passes the handshake (the server side, where only the CA endpoint serves such a caller).
    /// <paramref name="allowRemoved"/>: a removed node's certificate, sound in every other way, passes the handshake
    /// (the server side), so that the node can be told it was removed (<see cref="RemovalNotice"/>); every endpoint
    /// behind the handshake checks the certificate again with <see cref="Check"/>, which still refuses it.
    /// </summary>
    public RemoteCertificateValidationCallback CreateCallback(PeerUsage usage, bool allowNone = false, bool allowRemoved = false) =>
        (_, certificate, chain, _) =>
        {
            if (allowNone && certificate is null)
            {
                return true;
            }

            var result = Check(AsCertificate2(certificate), usage, chain?.ChainPolicy.ExtraStore.Cast<X509Certificate2>());
            return result.IsAccepted || (allowRemoved && result.Refusal == CertificateRefusal.RemovedNode);
        };

    internal static X509Certificate2? AsCertificate2(X509Certificate? certificate) =>
        certificate switch
        {
            null => null,
            X509Certificate2 c2 => c2,
            _ => X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()),
        };

    // offline: the chain is given, never fetched; the intermediates are sent as they are.
    private static SslStreamCertificateContext Context(X509Certificate2 certificate, IEnumerable<X509Certificate2>? intermediates) =>
        SslStreamCertificateContext.Create(certificate, [.. intermediates ?? []], offline: true);

    private sealed record Identity(X509Certificate2 Certificate, SwarmCertificateValidator Validator, SwarmPeer Self, SslStreamCertificateContext ServerContext);
}
