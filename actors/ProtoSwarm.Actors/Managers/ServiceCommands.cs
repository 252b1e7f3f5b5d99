using System.Collections.Immutable;
using ProtoSwarm.Actors.Orchestration;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Managers;

/// <summary>
/// The managers' decisions on `service create / update / rollback / rm`, apart from the actor
/// that reads the store and proposes: each returns the object to write or the refusal to answer.
/// </summary>
public static class ServiceCommands
{
    /// <summary>A service named by full id, exact name, or a unique id prefix, as docker resolves them.</summary>
    public static (ServiceObject? Service, CommandRejected? Rejected) Resolve(IEnumerable<ServiceObject> services, string serviceRef)
    {
        var all = services.ToList();
        if (string.IsNullOrWhiteSpace(serviceRef))
        {
            return (null, new CommandRejected(RejectCode.InvalidArgument, "No service was named; give a service id, id prefix or name (see `protoswarm service ls`)."));
        }

        if (all.FirstOrDefault(s => s.Id == serviceRef) is { } exact)
        {
            return (exact, null);
        }

        if (all.FirstOrDefault(s => s.Spec.Name == serviceRef) is { } named)
        {
            return (named, null);
        }

        var byPrefix = all.Where(s => s.Id.StartsWith(serviceRef, StringComparison.Ordinal)).ToList();
        return byPrefix.Count switch
        {
            1 => (byPrefix[0], null),
            0 => (null, new CommandRejected(RejectCode.NotFound, $"No such service: {serviceRef}. See `protoswarm service ls` for the swarm's services.")),
            _ => (null, new CommandRejected(RejectCode.Conflict, $"Service reference {serviceRef} is ambiguous: {byPrefix.Count} service ids start with it; give more of the id or the name.")),
        };
    }

    /// <summary>The spec's problems as one answer naming every field and its fix, or null when it is valid.</summary>
    public static CommandRejected? Check(ServiceSpec spec, IReadOnlySet<string> knownNetworks)
    {
        var problems = ServiceSpecValidator.Validate(spec, knownNetworks);
        if (problems.IsEmpty)
        {
            return null;
        }

        var lines = problems.Select(p => $"  {p.Field}: {p.Problem}; {p.Fix}.");
        return new CommandRejected(RejectCode.InvalidArgument, $"The service spec is invalid:\n{string.Join("\n", lines)}");
    }

    public static (ServiceObject? Created, CommandRejected? Rejected) Create(
        ServiceSpec spec, IReadOnlyCollection<ServiceObject> existing, IReadOnlySet<string> knownNetworks, string id, DateTimeOffset now)
    {
        if (Check(spec, knownNetworks) is { } invalid)
        {
            return (null, invalid);
        }

        // Names are unique without regard to case, as swarmkit's: a name is a DNS name on the service's networks.
        if (existing.FirstOrDefault(s => string.Equals(s.Spec.Name, spec.Name, StringComparison.OrdinalIgnoreCase)) is { } clash)
        {
            return (null, new CommandRejected(RejectCode.Conflict, clash.Spec.Name == spec.Name
                ? $"A service named {spec.Name} already exists ({clash.Id}); choose another --name, or change it with `protoswarm service update`."
                : $"The name {spec.Name} conflicts with the service {clash.Spec.Name} ({clash.Id}): service names differ by more than case (they are DNS names); choose another --name."));
        }

        return (new ServiceObject(id, ObjectMeta.New(now), spec, SpecVersion: 1), null);
    }

    /// <summary>
    /// `service update`: the new spec replaces the old one, which is kept for a rollback. A change of
    /// what the tasks run (template or endpoint, or --force) starts a rolling update; a change of
    /// replicas, labels or update settings alone does not. A job runs again after any update.
    /// </summary>
    public static (ServiceObject? Updated, CommandRejected? Rejected) Update(
        ServiceObject service, ulong versionRead, ServiceSpec spec, IReadOnlySet<string> knownNetworks, DateTimeOffset now)
    {
        if (versionRead != service.Meta.Version)
        {
            return (null, new CommandRejected(RejectCode.Conflict,
                $"Service {service.Spec.Name} changed since it was read (version {versionRead}, now {service.Meta.Version}): update out of sequence; read it again and retry."));
        }

        if (spec.Name != service.Spec.Name)
        {
            return (null, new CommandRejected(RejectCode.InvalidArgument,
                $"Renaming a service is not supported ({service.Spec.Name} -> {spec.Name}); create a new service and remove the old one."));
        }

        if (spec.Mode.Kind != service.Spec.Mode.Kind)
        {
            return (null, new CommandRejected(RejectCode.InvalidArgument,
                $"Service {service.Spec.Name} is {ModeName(service.Spec.Mode.Kind)}; its mode cannot change to {ModeName(spec.Mode.Kind)}. Create a new service instead."));
        }

        if (Check(spec, knownNetworks) is { } invalid)
        {
            return (null, invalid);
        }

        // A job has no rolling update: any update runs it again (JobIteration), so it gets no update status.
        var tasksChange = !spec.Mode.IsJob && !SpecEquality.SameTasks(service.Spec, spec);
        var updated = service with
        {
            Spec = spec,
            PreviousSpec = service.Spec,
            SpecVersion = service.SpecVersion + 1,
            UpdateStatus = tasksChange ? new UpdateStatus(UpdateState.Updating, now, null, "update in progress") : UnchangedTasks(service.UpdateStatus, now),
            JobIteration = spec.Mode.IsJob ? service.JobIteration + 1 : service.JobIteration,
        };
        return (updated, null);
    }

    /// <summary>
    /// The update status after an update that changes no task (a scale, a label, a bare `service update`). As
    /// swarmkit, where any update restarts the updater over the slots still dirty: one under way goes on (a
    /// scale mid-rollout no longer leaves half the tasks on the old spec), a paused one resumes as docker's
    /// docs say a bare `service update` does, and a finished one is cleared, so a scale after a rollback does
    /// not read as that rollback again.
    /// </summary>
    internal static UpdateStatus? UnchangedTasks(UpdateStatus? status, DateTimeOffset now) => status switch
    {
        { State: UpdateState.Updating or UpdateState.RollbackStarted } => status,
        { State: UpdateState.Paused or UpdateState.RollbackPaused } => new UpdateStatus(UpdateState.Updating, now, null, "update in progress"),
        _ => null,
    };

    /// <summary>`service rollback`: back to the spec before the last update, itself kept so a second rollback undoes the first.</summary>
    public static (ServiceObject? Updated, CommandRejected? Rejected) Rollback(ServiceObject service, ulong versionRead, DateTimeOffset now)
    {
        if (versionRead != 0 && versionRead != service.Meta.Version)
        {
            return (null, new CommandRejected(RejectCode.Conflict,
                $"Service {service.Spec.Name} changed since it was read (version {versionRead}, now {service.Meta.Version}); read it again and retry."));
        }

        if (service.PreviousSpec is not { } previous)
        {
            return (null, new CommandRejected(RejectCode.InvalidArgument,
                $"Service {service.Spec.Name} has no previous spec to roll back to: it was never updated."));
        }

        var updated = service with
        {
            Spec = previous,
            PreviousSpec = service.Spec,
            SpecVersion = service.SpecVersion + 1,
            UpdateStatus = !previous.Mode.IsJob && !SpecEquality.SameTasks(service.Spec, previous)
                ? new UpdateStatus(UpdateState.RollbackStarted, now, null, "manually requested rollback")
                : null,
            JobIteration = previous.Mode.IsJob ? service.JobIteration + 1 : service.JobIteration,
        };
        return (updated, null);
    }

    /// <summary>
    /// The tasks a listing asks for: of some services and/or some nodes, each named by id, prefix or name;
    /// services may also be given by whole id, unresolved (those of removed services still have tasks stopping).
    /// </summary>
    public static (ImmutableArray<TaskObject> Tasks, CommandRejected? Rejected) SelectTasks(
        IReadOnlyCollection<ServiceObject> services, IReadOnlyCollection<NodeObject> nodes, IEnumerable<TaskObject> tasks, ListTasks m)
    {
        var serviceIds = new HashSet<string>(m.ServiceIds, StringComparer.Ordinal);
        foreach (var serviceRef in m.ServiceRefs)
        {
            var (service, rejected) = Resolve(services, serviceRef);
            if (service is null)
            {
                return ([], rejected);
            }

            serviceIds.Add(service.Id);
        }

        var nodeIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var nodeRef in m.NodeRefs)
        {
            var (node, rejected) = NodeCommands.Resolve(nodes, nodeRef);
            if (node is null)
            {
                return ([], rejected);
            }

            nodeIds.Add(node.Id);
        }

        return ([.. tasks.Where(t => !ProtoSwarm.Actors.Networks.NetworkAttachments.IsAttachment(t) && (serviceIds.Count == 0 || serviceIds.Contains(t.ServiceId)) && (nodeIds.Count == 0 || nodeIds.Contains(t.NodeId)))], null);
    }

    private static string ModeName(ServiceModeKind kind) => kind switch
    {
        ServiceModeKind.Replicated => "replicated",
        ServiceModeKind.Global => "global",
        ServiceModeKind.ReplicatedJob => "replicated-job",
        _ => "global-job",
    };
}
