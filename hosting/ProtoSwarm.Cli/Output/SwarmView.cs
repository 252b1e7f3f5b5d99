using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Output;

/// <summary>What `swarm init`, `swarm join` and `swarm join-token` print, in docker's words.</summary>
internal static class SwarmView
{
    public const string Program = "protoswarm";

    public static string Initialized(InitSwarmAck ack) =>
        $"Swarm initialized: current node ({ack.NodeId}) is now a manager.\n\n" +
        JoinCommand(NodeRole.Worker, ack.WorkerToken, ack.ManagerAddr) +
        $"To add a manager to this swarm, run '{Program} swarm join-token manager' and follow the instructions.\n\n";

    public static string JoinCommand(JoinTokenInfo info) => JoinCommand(info.Role, info.Token, info.ManagerAddr);

    public static string JoinCommand(NodeRole role, string token, string managerAddr) =>
        $"To add a {RoleName(role)} to this swarm, run the following command:\n\n" +
        $"    {Program} swarm join --token {token} {managerAddr}\n\n";

    public static string Joined(JoinSwarmAck ack) => $"This node joined a swarm as a {RoleName(ack.Role)}.\n";

    public static string Left() => "Node left the swarm.\n";

    public static string UnlockKeyNotice(string key) =>
        $"To unlock a swarm manager after it restarts, run the `{Program} swarm unlock`\n" +
        "command and provide the following key:\n\n" +
        $"    {key}\n\n" +
        "Please remember to store this key in a password manager, since without it you\n" +
        "will not be able to restart the manager.\n";

    public static string RoleName(NodeRole role) => role == NodeRole.Manager ? "manager" : "worker";
}
