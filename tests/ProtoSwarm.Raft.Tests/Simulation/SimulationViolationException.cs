namespace ProtoSwarm.Raft.Tests.Simulation;

/// <summary>A broken invariant (or a core that threw), with everything needed to replay it.</summary>
public sealed class SimulationViolationException : Exception
{
    public SimulationViolationException()
    {
    }

    public SimulationViolationException(string message)
        : base(message)
    {
    }

    public SimulationViolationException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>Thrown by the checks; the simulator wraps it with the seed, step and trace.</summary>
internal sealed class InvariantException(string message) : Exception(message);
