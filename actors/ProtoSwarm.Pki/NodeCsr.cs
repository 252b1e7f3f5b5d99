namespace ProtoSwarm.Pki;

/// <summary>
/// A PKCS#10 certificate signing request as it travels from a joining node to the CA: bytes only.
/// Nothing in it is trusted but its public key, and that only once its signature verifies (see <see cref="RootCa.Issue"/>).
/// </summary>
public sealed class NodeCsr
{
    private readonly byte[] _der;

    private NodeCsr(byte[] der) => _der = der;

    public ReadOnlySpan<byte> Der => _der;

    public static NodeCsr FromDer(ReadOnlySpan<byte> der) => new(der.ToArray());

    public static NodeCsr FromPem(string pem) => new(Pem.Read(pem, Pem.CsrLabel));

    public string ToPem() => Pem.Write(Pem.CsrLabel, _der);
}
