using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Orchestration.Reconcile;

/// <summary>
/// Tells tasks made from the service's current task template and endpoint ("clean") from the
/// others ("dirty", due for a rolling update), compared as <see cref="SpecEquality"/> compares
/// specs (their MessagePack bytes), remembering each spec object already judged: the tasks of one
/// service mostly share a few spec objects.
/// </summary>
public sealed class SpecComparer
{
    private readonly TaskSpec _template;
    private readonly EndpointSpec _endpoint;
    private readonly byte[] _templateBytes;
    private readonly byte[] _endpointBytes;
    private readonly byte[] _unplacedTemplateBytes;
    private readonly Dictionary<object, bool> _seen = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<TaskSpec, bool> _seenUnplaced = new(ReferenceEqualityComparer.Instance);

    public SpecComparer(ServiceSpec spec)
    {
        _template = spec.TaskTemplate;
        _endpoint = spec.Endpoint;
        _templateBytes = Bytes(_template);
        _endpointBytes = Bytes(_endpoint);
        _unplacedTemplateBytes = Bytes(Unplaced(_template));
    }

    /// <summary>Whether the task's spec or endpoint differs from the service's.</summary>
    public bool IsDirty(TaskObject task) =>
        !Same(task.Spec, _template, _templateBytes) || !Same(task.Endpoint ?? EndpointSpec.Default, _endpoint, _endpointBytes);

    /// <summary>
    /// Whether the task is dirty by its placement alone (constraints, preferences, max replicas per
    /// node), as swarmkit's IsTaskDirtyPlacementConstraintsOnly: what it runs and how it is reached
    /// are the service's, so it need not restart where its node meets the new placement.
    /// </summary>
    public bool IsDirtyByPlacementOnly(TaskObject task)
    {
        if (!IsDirty(task) || !Same(task.Endpoint ?? EndpointSpec.Default, _endpoint, _endpointBytes))
        {
            return false;
        }

        if (!_seenUnplaced.TryGetValue(task.Spec, out var same))
        {
            same = Bytes(Unplaced(task.Spec)).AsSpan().SequenceEqual(_unplacedTemplateBytes);
            _seenUnplaced[task.Spec] = same;
        }

        return same;
    }

    private static TaskSpec Unplaced(TaskSpec spec) => spec with { Placement = Placement.None };

    private bool Same<T>(T value, T current, byte[] currentBytes)
        where T : class
    {
        if (ReferenceEquals(value, current))
        {
            return true;
        }

        if (!_seen.TryGetValue(value, out var same))
        {
            same = Bytes(value).AsSpan().SequenceEqual(currentBytes);
            _seen[value] = same;
        }

        return same;
    }

    private static byte[] Bytes<T>(T value) => SpecEquality.Bytes(value);
}
