namespace ProtoSwarm.Actors.Managers;

/// <summary>No external CA signed a certificate request: none is configured for the signing root, or every one
/// failed or answered a certificate the managers refused. The message names each CA and why.</summary>
public sealed class ExternalCaException : Exception
{
    public ExternalCaException()
    {
    }

    public ExternalCaException(string message)
        : base(message)
    {
    }

    public ExternalCaException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
