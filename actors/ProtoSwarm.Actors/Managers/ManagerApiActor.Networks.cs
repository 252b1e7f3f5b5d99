using Microsoft.Extensions.Logging;
using ProtoSwarm.Actors.Networks;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Managers;

/// <summary>`network create / ls / inspect / rm`; the decisions are <see cref="NetworkCommands"/>.</summary>
public sealed partial class ManagerApiActor
{
    private List<NetworkObject> Networks() => [.. State.List<NetworkObject>()];

    private async Task<object> OnCreateNetwork(CreateNetwork m)
    {
        for (var attempt = 0; ; attempt++)
        {
            var (created, rejected) = NetworkCommands.Create(m.Spec, Networks(), SwarmIds.New(), _manager.Time.GetUtcNow(), [.. State.List<NodeObject>()]);
            if (created is null)
            {
                return rejected!;
            }

            try
            {
                await _manager.Proposer.ProposeAsync([StoreChange.Create(created)]);
                LogNetworkChanged(_logger, created.Id, created.Spec.Name, $"created ({created.Subnet}, VXLAN id {created.Vni})");
                return new NetworkCreated(created.Id);
            }
            catch (StoreConflictException) when (attempt < ConflictRetries)
            {
            }
        }
    }

    private NetworkList OnListNetworks()
    {
        var networks = Networks().OrderBy(n => n.Spec.Name, StringComparer.Ordinal).ThenBy(n => n.Id, StringComparer.Ordinal).ToList();
        var services = Services();
        var tasks = State.List<TaskObject>().ToList();
        return new([.. networks], [.. networks.Where(n => NetworkCommands.InUse(n, services, tasks)).Select(n => n.Id)]);
    }

    private object OnInspectNetwork(InspectNetwork m)
    {
        var (network, rejected) = NetworkCommands.Resolve(Networks(), m.NetworkRef);
        return network is null ? rejected! : new NetworkDetails(network, NetworkViews.UsageOf(State, network.Id));
    }

    private async Task<object> OnRemoveNetwork(RemoveNetwork m)
    {
        for (var attempt = 0; ; attempt++)
        {
            var (network, rejected) = NetworkCommands.Resolve(Networks(), m.NetworkRef);
            if (network is null)
            {
                return rejected!;
            }

            if (NetworkCommands.RemovalProblem(network, Services(), State.List<TaskObject>(), State.List<NodeObject>().ToDictionary(n => n.Id, n => n.Description.Hostname, StringComparer.Ordinal)) is { } refused)
            {
                return refused;
            }

            try
            {
                await _manager.Proposer.ProposeAsync([StoreChange.Delete(network)]);
                LogNetworkChanged(_logger, network.Id, network.Spec.Name, "removed");
                return new NetworkRemoved(network.Id);
            }
            catch (StoreConflictException) when (attempt < ConflictRetries)
            {
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Network {NetworkId} ({Name}) {Change}")]
    private static partial void LogNetworkChanged(ILogger logger, string networkId, string name, string change);
}
