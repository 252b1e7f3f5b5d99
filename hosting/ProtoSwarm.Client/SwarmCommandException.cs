using ProtoSwarm.Contracts;

namespace ProtoSwarm.Client;

/// <summary>A command the swarm refused, with the reason as a sentence for a person.</summary>
public sealed class SwarmCommandException : Exception
{
    public SwarmCommandException(RejectCode code, string reason)
        : base(reason) => Code = code;

    public SwarmCommandException()
    {
    }

    public SwarmCommandException(string message)
        : base(message)
    {
    }

    public SwarmCommandException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public RejectCode Code { get; }
}
