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
    private readonly Dictionary<object, bool> _seen = new(ReferenceEqualityComparer.Instance);

    public SpecComparer(ServiceSpec spec)
    {
        _template = spec.TaskTemplate;
        _endpoint = spec.Endpoint;
        _templateBytes = Bytes(_template);
        _endpointBytes = Bytes(_endpoint);
    }

    /// <summary>Whether the task's spec or endpoint differs from the service's.</summary>
    public bool IsDirty(TaskObject task) =>
        !Same(task.Spec, _template, _templateBytes) || !Same(task.Endpoint ?? EndpointSpec.Default, _endpoint, _endpointBytes);

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
