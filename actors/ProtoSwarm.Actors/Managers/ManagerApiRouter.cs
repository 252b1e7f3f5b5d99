using Proto;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Managers;

/// <summary>
/// The <c>manager-api</c> actor itself: it never waits, it hands each request to one of two
/// <see cref="ManagerApiActor"/>s, one for queries and one for commands. Commands are applied one
/// at a time (each waits for its write to commit); queries answer meanwhile instead of queueing
/// behind them, as `node ls` did under a steady write load.
/// </summary>
public sealed class ManagerApiRouter : IActor
{
    private readonly Func<Props> _worker;
    private PID? _queries;
    private PID? _commands;

    public ManagerApiRouter(Func<Props> worker) => _worker = worker;

    public static bool IsQuery(object message) => message is ListNodes or InspectNode or GetJoinToken { Rotate: false } or GetUnlockKey { Rotate: false } or RotateCa { Rotate: false } or GetSwarmSummary
        or ListServices or InspectService or ListTasks or GetServiceLogs or GetTaskUsage or ListNetworks or InspectNetwork
        or GetRegistryToken { Rotate: false } or ListRepositories or ListSecrets or InspectSecret or ListConfigs or InspectConfig;

    public Task ReceiveAsync(IContext context)
    {
        switch (context.Message)
        {
            case Started:
                _queries = context.Spawn(_worker());
                _commands = context.Spawn(_worker());
                break;
            case { } message when ContractRegistry.IsContract(message.GetType()):
                context.Forward(IsQuery(message) ? _queries! : _commands!);
                break;
        }

        return Task.CompletedTask;
    }
}
