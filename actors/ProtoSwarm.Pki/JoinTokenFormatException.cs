namespace ProtoSwarm.Pki;

/// <summary>A join token that is not <c>SWMTKN-1-&lt;digest&gt;-&lt;secret&gt;</c>; the message names the part that is wrong.</summary>
public sealed class JoinTokenFormatException : FormatException
{
    public JoinTokenFormatException()
    {
    }

    public JoinTokenFormatException(string message)
        : base(message)
    {
    }

    public JoinTokenFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
