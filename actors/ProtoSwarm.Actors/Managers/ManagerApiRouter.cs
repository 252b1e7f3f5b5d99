using Proto;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Managers;

/// <summary>
/// The <c>manager-api</c> actor itself: it never waits, it hands each request to one of two
/// <see cref="ManagerApiActor"/>s, one for queries and one for commands. Commands are applied one
/// at a time (each waits for its write to commit); queries answer meanwhile instead of queueing
/// behind them, as `node ls` did under a steady write load. Two requests are this node's own, not the
/// swarm's, and are never relayed to the leader: <see cref="ListLocalNetworks"/>, which a CLI talking to
/// this manager over TCP asks, as docker's remote daemon lists its own bridge, host and none; and
/// <see cref="SubscribeEvents"/>, this node's events (`events` over TCP), served by a child
/// <see cref="EventSubscriptionActor"/> per client, as its control socket serves them.
/// </summary>
public sealed class ManagerApiRouter : IActor
{
    private readonly Func<Props> _worker;
    private readonly Func<Task<LocalNetworkList>>? _localNetworks;
    private readonly Func<SubscribeEvents, PID, Props>? _subscription;
    private PID? _queries;
    private PID? _commands;

    /// <param name="localNetworks">This node's local networks; null where the node has none to give (the request then goes to the API, which refuses it).</param>
    /// <param name="subscription">An events subscription for a request and its client's actor; null where the node has no event feed (refused).</param>
    public ManagerApiRouter(Func<Props> worker, Func<Task<LocalNetworkList>>? localNetworks = null, Func<SubscribeEvents, PID, Props>? subscription = null)
    {
        _worker = worker;
        _localNetworks = localNetworks;
        _subscription = subscription;
    }

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
            case ListLocalNetworks when _localNetworks is not null && context.Sender is { } sender:
                _ = AnswerLocalNetworksAsync(context.System, sender, _localNetworks);
                break;
            case SubscribeEvents m when context.Sender is { } client:
                if (_subscription is null)
                {
                    context.Respond(new CommandRejected(RejectCode.Unavailable, "This manager serves no events over TCP; run `protoswarm events` on it, against its control socket (unix://)."));
                }
                else
                {
                    context.Spawn(_subscription(m, client));
                }

                break;
            case { } message when ContractRegistry.IsContract(message.GetType()):
                context.Forward(IsQuery(message) ? _queries! : _commands!);
                break;
        }

        return Task.CompletedTask;
    }

    /// <summary>Answers off the router's turn (the node may read its bridge's address), so it never waits.</summary>
    private static async Task AnswerLocalNetworksAsync(ActorSystem system, PID sender, Func<Task<LocalNetworkList>> localNetworks)
    {
        object reply;
        try
        {
            reply = await localNetworks().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            reply = new CommandRejected(RejectCode.Internal, $"This node could not list its local networks: {e.Message}");
        }

        system.Root.Send(sender, reply);
    }
}
