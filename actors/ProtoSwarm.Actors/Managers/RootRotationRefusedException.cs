namespace ProtoSwarm.Actors.Managers;

/// <summary>A root the swarm cannot rotate to (<see cref="SwarmCa.RotateTo"/>); the message says why and what to do.</summary>
public sealed class RootRotationRefusedException : Exception
{
    public RootRotationRefusedException()
    {
    }

    public RootRotationRefusedException(string message)
        : base(message)
    {
    }

    public RootRotationRefusedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
