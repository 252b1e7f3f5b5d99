namespace ProtoSwarm.Cli.Lab;

/// <summary>A lab failure worded for the person at the terminal: what, where, what to do.</summary>
public sealed class LabException : Exception
{
    public LabException()
    {
    }

    public LabException(string message)
        : base(message)
    {
    }

    public LabException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
