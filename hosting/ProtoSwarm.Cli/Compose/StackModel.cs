using System.Collections.Immutable;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Compose;

/// <summary>
/// What a stack's compose files ask for, ready for `stack deploy`: the services as ServiceSpecs
/// named and labelled as docker names them (&lt;stack&gt;_&lt;service&gt;, com.docker.stack.namespace), the
/// networks the services use, the declared volumes, secrets and configs.
/// </summary>
internal sealed record StackModel(
    string Name,
    ImmutableArray<StackService> Services,
    ImmutableArray<StackNetwork> Networks,
    ImmutableArray<StackVolume> Volumes,
    ImmutableArray<StackFileObject> Secrets,
    ImmutableArray<StackFileObject> Configs)
{
    /// <summary>The label docker puts on everything a stack creates.</summary>
    public const string NamespaceLabel = "com.docker.stack.namespace";

    /// <summary>The label docker puts on a stack's service with the image as the file wrote it.</summary>
    public const string ImageLabel = "com.docker.stack.image";

    public StackService? Service(string shortName) => Services.FirstOrDefault(s => s.ShortName == shortName);
}

/// <summary>
/// One service: its name in the file and the spec to create. Network aliases (the short name on each
/// stack network) are in the spec's NetworkAttachments; secrets and configs in its ContainerSpec,
/// by their names on the swarm (the managers resolve them to ids); init and sysctls too.
/// </summary>
internal sealed record StackService(
    string ShortName,
    ServiceSpec Spec);

/// <summary>
/// A network the stack's services use: Key as the file names it, Name on the swarm. External: it
/// must exist already and Spec is null; otherwise `stack deploy` creates it from Spec.
/// </summary>
internal sealed record StackNetwork(string Key, string Name, bool External, NetworkSpec? Spec);

/// <summary>
/// A declared volume: mounts of it carry its name, labels, driver as written (empty or local) and driver_opts (the
/// local driver's type, device and o, only when right); a local volume is made by each node on first use with them.
/// </summary>
internal sealed record StackVolume(
    string Key,
    string Name,
    bool External,
    string Driver,
    ImmutableSortedDictionary<string, string> Labels,
    ImmutableSortedDictionary<string, string> DriverOptions);

/// <summary>A declared secret or config: its content from File (an absolute path), or External (it exists in the swarm already).</summary>
internal sealed record StackFileObject(
    string Key,
    string Name,
    string? File,
    bool External,
    ImmutableSortedDictionary<string, string> Labels,
    string? Templating = null);
