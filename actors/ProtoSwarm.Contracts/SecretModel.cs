using System.Collections.Immutable;
using MessagePack;

namespace ProtoSwarm.Contracts;

// ---- secrets and configs: small immutable blobs the managers keep and deliver to the tasks that use them

/// <summary>
/// A secret as `secret create` gives it: a unique name, labels and the data (at most 500 KiB, as
/// docker), and docker's Spec.Templating.Name: "golang" (<see cref="TemplateDrivers.Golang"/>) has each
/// task's node expand the data's {{ .Service.Name }}, {{ env "X" }}... for that task before its container
/// gets it; null: delivered as written. Immutable: only the labels may change. The data leaves the managers only inside the
/// assignments of a node that runs a task using the secret, and no API answer ever holds it.
/// </summary>
[MessagePackObject]
public sealed record SecretSpec(
    [property: Key(0)] string Name,
    ImmutableSortedDictionary<string, string>? Labels,
    [property: Key(2)] byte[] Data,
    [property: Key(3)] string? Templating = null)
{
    [Key(1)]
    public ImmutableSortedDictionary<string, string> Labels { get; init; } = Labels ?? ImmutableSortedDictionary<string, string>.Empty;

    /// <summary>Docker's limit on a secret's or a config's data.</summary>
    public const int MaxDataBytes = 500 * 1024;
}

/// <summary>A config as `config create` gives it: like a secret (templating included), but its data may be read back (`config inspect`).</summary>
[MessagePackObject]
public sealed record ConfigSpec(
    [property: Key(0)] string Name,
    ImmutableSortedDictionary<string, string>? Labels,
    [property: Key(2)] byte[] Data,
    [property: Key(3)] string? Templating = null)
{
    [Key(1)]
    public ImmutableSortedDictionary<string, string> Labels { get; init; } = Labels ?? ImmutableSortedDictionary<string, string>.Empty;
}

/// <summary>The template drivers of secrets and configs (docker's --template-driver): only Go's templates.</summary>
public static class TemplateDrivers
{
    public const string Golang = "golang";

    /// <summary>Why a driver cannot template a secret's or config's data, or null (none, or "golang").</summary>
    public static string? Problem(string kind, string? driver) => driver is null or Golang
        ? null
        : $"template driver \"{driver}\" is not supported for a {kind}: the only one is \"{Golang}\" (Go templates such as {{{{ .Service.Name }}}}); leave the driver out to have the data delivered as written";
}

/// <summary>A stored secret (store kind "secret"); the store is sealed at rest as a whole.</summary>
[MessagePackObject]
public sealed record SecretObject(
    [property: Key(0)] string Id,
    [property: Key(1)] ObjectMeta Meta,
    [property: Key(2)] SecretSpec Spec) : IStoreObject, IStoreKind
{
    public static string StoreKind => "secret";

    [IgnoreMember]
    public string Kind => StoreKind;

    public IStoreObject WithMeta(ObjectMeta meta) => this with { Meta = meta };
}

/// <summary>A stored config (store kind "config").</summary>
[MessagePackObject]
public sealed record ConfigObject(
    [property: Key(0)] string Id,
    [property: Key(1)] ObjectMeta Meta,
    [property: Key(2)] ConfigSpec Spec) : IStoreObject, IStoreKind
{
    public static string StoreKind => "config";

    [IgnoreMember]
    public string Kind => StoreKind;

    public IStoreObject WithMeta(ObjectMeta meta) => this with { Meta = meta };
}

/// <summary>
/// Where a secret or config appears in the task's container: a file name (relative to /run/secrets
/// for a secret, an absolute path for a config; docker's defaults are /run/secrets/&lt;name&gt; and
/// /&lt;name&gt;), owner and mode (docker's default 0444, owner 0:0).
/// </summary>
[MessagePackObject]
public sealed record FileTarget(
    [property: Key(0)] string Name,
    [property: Key(1)] string Uid = "0",
    [property: Key(2)] string Gid = "0",
    [property: Key(3)] int Mode = FileTarget.DefaultMode)
{
    public const int DefaultMode = 0x124; // 0444
}

/// <summary>A service's use of a secret (docker's --secret source=NAME,target=...,uid=...,gid=...,mode=...): the id is resolved by the managers at create/update time.</summary>
[MessagePackObject]
public sealed record SecretReference(
    [property: Key(0)] string SecretId,
    [property: Key(1)] string SecretName,
    [property: Key(2)] FileTarget File);

/// <summary>A service's use of a config (docker's --config source=NAME,target=...).</summary>
[MessagePackObject]
public sealed record ConfigReference(
    [property: Key(0)] string ConfigId,
    [property: Key(1)] string ConfigName,
    [property: Key(2)] FileTarget File);

/// <summary>A secret's or config's data as the node's agent receives it, in its assignments.</summary>
[MessagePackObject]
public sealed record SecretPayload(
    [property: Key(0)] string Id,
    [property: Key(1)] string Name,
    [property: Key(2)] byte[] Data,
    [property: Key(3)] string? Templating = null);

/// <summary>What `secret ls` and `secret inspect` show: never the data.</summary>
[MessagePackObject]
public sealed record SecretSummary(
    [property: Key(0)] string Id,
    [property: Key(1)] string Name,
    [property: Key(2)] ImmutableSortedDictionary<string, string> Labels,
    [property: Key(3)] DateTimeOffset CreatedAt,
    [property: Key(4)] DateTimeOffset UpdatedAt,
    [property: Key(5)] ulong Version,
    [property: Key(6)] string? Templating = null);

/// <summary>What `config ls` shows, and `config inspect` with the data.</summary>
[MessagePackObject]
public sealed record ConfigSummary(
    [property: Key(0)] string Id,
    [property: Key(1)] string Name,
    [property: Key(2)] ImmutableSortedDictionary<string, string> Labels,
    [property: Key(3)] DateTimeOffset CreatedAt,
    [property: Key(4)] DateTimeOffset UpdatedAt,
    [property: Key(5)] ulong Version,
    [property: Key(6)] byte[]? Data = null,
    [property: Key(7)] string? Templating = null);

// ---- the managers' API (docker's /secrets and /configs)

/// <summary>
/// `secret create NAME FILE|-`: refused for an invalid or taken name, or data over 500 KiB.
/// ReuseIfSame (`stack deploy`): a secret of that name holding exactly this data is kept and its id
/// answered; other data is refused, as docker refuses a change of a secret's data.
/// </summary>
[MessagePackObject]
public sealed record CreateSecret(
    [property: Key(0)] string RequestId,
    [property: Key(1)] SecretSpec Spec,
    [property: Key(2)] bool ReuseIfSame = false) : IManagerApiRequest;

[MessagePackObject]
public sealed record SecretCreated([property: Key(0)] string SecretId);

[MessagePackObject]
public sealed record ListSecrets([property: Key(0)] string RequestId) : IManagerApiRequest;

[MessagePackObject]
public sealed record SecretList([property: Key(0)] ImmutableArray<SecretSummary> Secrets);

/// <summary>`secret inspect`: by id, name or unique id prefix.</summary>
[MessagePackObject]
public sealed record InspectSecret(
    [property: Key(0)] string RequestId,
    [property: Key(1)] string SecretRef) : IManagerApiRequest;

[MessagePackObject]
public sealed record SecretDetails([property: Key(0)] SecretSummary Secret);

/// <summary>`secret rm`: refused while a service uses it, naming the services.</summary>
[MessagePackObject]
public sealed record RemoveSecret(
    [property: Key(0)] string RequestId,
    [property: Key(1)] string SecretRef) : IManagerApiRequest;

[MessagePackObject]
public sealed record SecretRemoved([property: Key(0)] string SecretId);

/// <summary>`config create NAME FILE|-`; ReuseIfSame as for <see cref="CreateSecret"/>.</summary>
[MessagePackObject]
public sealed record CreateConfig(
    [property: Key(0)] string RequestId,
    [property: Key(1)] ConfigSpec Spec,
    [property: Key(2)] bool ReuseIfSame = false) : IManagerApiRequest;

[MessagePackObject]
public sealed record ConfigCreated([property: Key(0)] string ConfigId);

[MessagePackObject]
public sealed record ListConfigs([property: Key(0)] string RequestId) : IManagerApiRequest;

[MessagePackObject]
public sealed record ConfigList([property: Key(0)] ImmutableArray<ConfigSummary> Configs);

[MessagePackObject]
public sealed record InspectConfig(
    [property: Key(0)] string RequestId,
    [property: Key(1)] string ConfigRef) : IManagerApiRequest;

[MessagePackObject]
public sealed record ConfigDetails([property: Key(0)] ConfigSummary Config);

[MessagePackObject]
public sealed record RemoveConfig(
    [property: Key(0)] string RequestId,
    [property: Key(1)] string ConfigRef) : IManagerApiRequest;

[MessagePackObject]
public sealed record ConfigRemoved([property: Key(0)] string ConfigId);
