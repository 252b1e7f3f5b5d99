using MessagePack;

namespace ProtoSwarm.Contracts;

/// <summary>
/// Whether two specs are the same. Records that hold ImmutableArray compare arrays by reference, so
/// two equal specs read from the store apart would differ; they are compared as their MessagePack
/// bytes instead, the form the store keeps. A ForceUpdate change is a change of bytes too, which is
/// how `--force` makes every task out of date.
/// </summary>
public static class SpecEquality
{
    public static byte[] Bytes<T>(T value) => MessagePackSerializer.Serialize(value, ContractRegistry.Options);

    public static bool Same<T>(T a, T b) => ReferenceEquals(a, b) || Bytes(a).AsSpan().SequenceEqual(Bytes(b));

    /// <summary>Whether two service specs make the same tasks: the template and the endpoint.</summary>
    public static bool SameTasks(ServiceSpec a, ServiceSpec b) => Same(a.TaskTemplate, b.TaskTemplate) && Same(a.Endpoint, b.Endpoint);

    /// <summary>Whether a task runs what the spec asks now (a scale changes the spec's version, not its tasks).</summary>
    public static bool IsCurrent(TaskObject task, ServiceSpec spec) =>
        Same(task.Spec, spec.TaskTemplate) && Same(task.Endpoint ?? EndpointSpec.Default, spec.Endpoint);
}
