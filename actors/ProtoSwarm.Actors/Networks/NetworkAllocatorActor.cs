using Microsoft.Extensions.Logging;
using Proto;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Actors.Orchestration.Actors;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Networks;

/// <summary>
/// The address allocator on the leader (a child of the <see cref="OrchestratorActor"/>, told of the
/// store's changes as the scheduler is). When it starts it makes the ingress network if the swarm has
/// none (a swarm made before networks existed, or a fresh one); then each pass writes what
/// <see cref="NetworkAllocator.Decide"/> decides: VIPs, task addresses (New -> Pending), node ingress
/// addresses. One actor for all networks, not one per network: a task on two networks is one write of
/// one object, which two actors would race for (see ARCHITECTURE.md, section 10).
/// </summary>
public sealed partial class NetworkAllocatorActor : IActor
{
    private readonly ManagerContext _manager;
    private readonly ILogger _logger;
    private readonly OneAtATime<bool> _runs;
    private readonly NetworkAllocator _allocator = new();
    private bool _ingressChecked;

    public NetworkAllocatorActor(ManagerContext manager)
    {
        _manager = manager;
        _logger = manager.LoggerFactory.CreateLogger<NetworkAllocatorActor>();
        _runs = new(manager.Time, e => LogFailed(_logger, e));
    }

    public Task ReceiveAsync(IContext context)
    {
        if (context.Message is Started or Reconsider)
        {
            Run(context);
        }

        return Task.CompletedTask;
    }

    /// <summary>Whether a store event may give the allocator work: a task waiting for addresses, or any service, node or network change.</summary>
    public static bool Concerns(StoreEvent e) => e.Kind switch
    {
        "task" => e.Object is TaskObject task && NetworkAllocator.WaitsForAddresses(task),
        "service" or "node" or "network" => true,
        _ => false,
    };

    private void Run(IContext context) => _runs.Run(context, PassAsync, (stored, again) =>
    {
        if (again || !stored)
        {
            context.Send(context.Self, Reconsider.Instance);
        }
    });

    private async Task<bool> PassAsync()
    {
        var state = _manager.Store.Current;
        if (!_ingressChecked)
        {
            var networks = state.List<NetworkObject>().ToList();
            if (state.Get<ClusterObject>(ClusterObject.DefaultId) is not null && !networks.Any(n => n.Spec.Ingress) &&
                NetworkCommands.NewIngress(networks, SwarmIds.New(), _manager.Time.GetUtcNow()) is { } ingress)
            {
                if (!await Proposals.ProposeInPartsAsync(_manager.Proposer, [StoreChange.Create(ingress)]).ConfigureAwait(false))
                {
                    return false;
                }

                LogIngressCreated(_logger, ingress.Id, ingress.Subnet);
                state = _manager.Store.Current;
            }

            _ingressChecked = true;
        }

        var changes = _allocator.Decide(state, _manager.Time.GetUtcNow());
        return await Proposals.ProposeInPartsAsync(_manager.Proposer, changes).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "The swarm had no ingress network: created {NetworkId} ({Subnet})")]
    private static partial void LogIngressCreated(ILogger logger, string networkId, string subnet);

    [LoggerMessage(Level = LogLevel.Error, Message = "An address allocation pass failed; trying again in 1 s")]
    private static partial void LogFailed(ILogger logger, Exception? e);
}
