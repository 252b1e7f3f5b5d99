using System.CommandLine;

namespace ProtoSwarm.Cli.Lab;

/// <summary>`protoswarm lab`: a multi-host swarm on one machine, one network namespace per node.</summary>
public static class LabCommands
{
    public static Command Create() => new("lab", "Run a multi-node swarm on this machine, one network namespace per node");
}
