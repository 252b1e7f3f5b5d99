namespace ProtoSwarm.Pki;

/// <summary>The CA refused to sign a CSR; the message says why in words a joining node's operator can act on.</summary>
public sealed class CsrRejectedException : Exception
{
    public CsrRejectedException()
    {
    }

    public CsrRejectedException(string message)
        : base(message)
    {
    }

    public CsrRejectedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
