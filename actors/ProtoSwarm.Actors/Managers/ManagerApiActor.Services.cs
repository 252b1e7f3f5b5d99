using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using ProtoSwarm.Actors.Networks;
using ProtoSwarm.Actors.Orchestration.Reconcile;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Managers;

/// <summary>`service create / update / rollback / rm / inspect / ls` and the task listing behind `service ps`.</summary>
public sealed partial class ManagerApiActor
{
    private List<ServiceObject> Services() => [.. State.List<ServiceObject>()];

    /// <summary>The networks a service may name, by id: targets are resolved to ids before the spec is checked.</summary>
    private ImmutableHashSet<string> KnownNetworks() => State.List<NetworkObject>().Select(n => n.Id).ToImmutableHashSet(StringComparer.Ordinal);

    /// <summary>
    /// The spec as it is stored: network targets as ids (an unknown one is left for the spec's
    /// checks to report), the ingress network refused as a target; secrets and configs named by
    /// name resolved to their ids (an unknown one refused).
    /// </summary>
    private (ServiceSpec Spec, CommandRejected? Rejected) Resolved(ServiceSpec spec)
    {
        var (withNetworks, rejected) = ServiceEndpoints.ResolveNetworks(spec, Networks());
        return rejected is not null ? (withNetworks, rejected) : SecretCommands.ResolveReferences(withNetworks, Secrets(), Configs());
    }

    /// <summary>The service with its endpoint's ports allocated (VIPs follow from the leader's allocator), or the refusal.</summary>
    private (ServiceObject? Service, CommandRejected? Rejected) WithPorts(ServiceObject service, ServiceEndpoint current)
    {
        var (ports, rejected) = ServiceEndpoints.AllocatePorts(service.Spec, current, Services().Where(s => s.Id != service.Id),
            ServiceEndpoints.SwarmPorts(State.List<NodeObject>(), Cluster()));
        return rejected is not null ? (null, rejected) : (service with { Endpoint = current with { Ports = ports } }, null);
    }

    private async Task<object> OnCreateService(CreateService m)
    {
        if (ImagePinning.CheckMode(m.ResolveImage) is { } badMode)
        {
            return badMode;
        }

        for (var attempt = 0; ; attempt++)
        {
            var (resolved, refused) = Resolved(m.Spec);
            if (refused is not null)
            {
                return refused;
            }

            var (spec, warnings) = ImagePinning.PinSpec(State, resolved, m.ResolveImage, previous: null, ResolveImageModes.Always);
            var (valid, rejected) = ServiceCommands.Create(spec, Services(), KnownNetworks(), SwarmIds.New(), _manager.Time.GetUtcNow());
            var (created, portsRejected) = valid is null ? (null, rejected) : WithPorts(valid, ServiceEndpoint.None);
            if (created is null)
            {
                return portsRejected!;
            }

            try
            {
                await _manager.Proposer.ProposeAsync([StoreChange.Create(created)]);
                LogServiceChanged(_logger, created.Id, created.Spec.Name, "created");
                return new ServiceCreated(created.Id, warnings);
            }
            catch (StoreConflictException) when (attempt < ConflictRetries)
            {
            }
        }
    }

    private async Task<object> OnUpdateService(UpdateService m)
    {
        var (service, rejected) = ServiceCommands.Resolve(Services(), m.ServiceRef);
        if (service is null)
        {
            return rejected!;
        }

        if (!m.Rollback && ImagePinning.CheckMode(m.ResolveImage) is { } badMode)
        {
            return badMode;
        }

        var now = _manager.Time.GetUtcNow();
        var (spec, refused) = m.Spec is null ? (null, null) : Resolved(m.Spec);
        if (refused is not null)
        {
            return refused;
        }

        // A rollback restores the previous spec as it was stored, digest included: nothing is resolved again.
        var warnings = ImmutableArray<string>.Empty;
        if (spec is not null && !m.Rollback)
        {
            (spec, warnings) = ImagePinning.PinSpec(State, spec, m.ResolveImage, service.Spec, ResolveImageModes.Changed);
        }

        (ServiceObject? next, rejected) = m.Rollback
            ? ServiceCommands.Rollback(service, m.Version, now)
            : spec is null
                ? (null, new CommandRejected(RejectCode.InvalidArgument, "The update carries no spec; send the whole new spec, or ask for a rollback."))
                : ServiceCommands.Update(service, m.Version, spec, KnownNetworks(), now);
        if (m.Rollback && next is not null && SecretCommands.RollbackProblem(service.Spec.Name, next.Spec, Secrets(), Configs()) is { } dangling)
        {
            return dangling;
        }

        var (updated, portsRejected) = next is null ? (null, rejected) : WithPorts(next, service.Endpoint);
        if (updated is null)
        {
            return portsRejected!;
        }

        try
        {
            var index = await _manager.Proposer.ProposeAsync([StoreChange.Update(updated)]);
            LogServiceChanged(_logger, service.Id, service.Spec.Name, m.Rollback ? "rolled back" : "updated");
            return new ServiceUpdated(service.Id, index, warnings);
        }
        catch (StoreConflictException)
        {
            return new CommandRejected(RejectCode.Conflict,
                $"Service {service.Spec.Name} changed while it was being updated: update out of sequence; read it again and retry.");
        }
    }

    private async Task<object> OnRemoveService(RemoveService m)
    {
        for (var attempt = 0; ; attempt++)
        {
            var (service, rejected) = ServiceCommands.Resolve(Services(), m.ServiceRef);
            if (service is null)
            {
                return rejected!;
            }

            try
            {
                await _manager.Proposer.ProposeAsync([StoreChange.Delete(service)]);
                LogServiceChanged(_logger, service.Id, service.Spec.Name, "removed");
                return new ServiceRemoved(service.Id);
            }
            catch (StoreConflictException) when (attempt < ConflictRetries)
            {
                // The orchestrator wrote the service (an update's status) meanwhile: remove what is there now.
            }
        }
    }

    private object OnInspectService(InspectService m)
    {
        var (service, rejected) = ServiceCommands.Resolve(Services(), m.ServiceRef);
        return service is null ? rejected! : new ServiceDetails(service, ReplicasOf(service));
    }

    private ServiceList OnListServices()
    {
        var tasks = State.List<TaskObject>().ToLookup(t => t.ServiceId, StringComparer.Ordinal);
        var nodes = State.List<NodeObject>().ToList();
        return new ServiceList([.. Services()
            .OrderBy(s => s.Spec.Name, StringComparer.Ordinal)
            .Select(s => new ServiceSummary(s, ServiceReconciler.Replicas(s, [.. tasks[s.Id]], nodes)))]);
    }

    private ServiceReplicas ReplicasOf(ServiceObject service) =>
        ServiceReconciler.Replicas(service, [.. State.List<TaskObject>().Where(t => t.ServiceId == service.Id)], [.. State.List<NodeObject>()]);

    private object OnListTasks(ListTasks m)
    {
        var services = Services();
        var nodes = State.List<NodeObject>().ToList();
        var (tasks, rejected) = ServiceCommands.SelectTasks(services, nodes, State.List<TaskObject>(), m);
        if (rejected is not null)
        {
            return rejected;
        }

        return new TaskList(
            tasks,
            services.ToImmutableSortedDictionary(s => s.Id, s => s.Spec.Name, StringComparer.Ordinal),
            nodes.ToImmutableSortedDictionary(n => n.Id, n => n.Description.Hostname, StringComparer.Ordinal));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Service {ServiceId} ({Name}) {Change}")]
    private static partial void LogServiceChanged(ILogger logger, string serviceId, string name, string change);
}
