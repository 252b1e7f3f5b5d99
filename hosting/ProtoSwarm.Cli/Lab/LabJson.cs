using System.Text.Json;
using System.Text.Json.Serialization;

namespace ProtoSwarm.Cli.Lab;

/// <summary>
/// The lab's JSON files and `lab ls --format json`, written and read by code System.Text.Json generates at build
/// time: the CLI is a NativeAOT binary, where the reflection-based serializer is not available.
/// </summary>
[JsonSourceGenerationOptions(Converters = [typeof(LabRoleJsonConverter)])]
[JsonSerializable(typeof(LabForwardRecord))]
[JsonSerializable(typeof(LabNodeRow))]
internal sealed partial class LabJson : JsonSerializerContext;

/// <summary>lab.json: indented, roles as "manager" / "worker".</summary>
[JsonSourceGenerationOptions(WriteIndented = true, Converters = [typeof(LabRoleJsonConverter)])]
[JsonSerializable(typeof(LabState))]
internal sealed partial class LabStateJson : JsonSerializerContext;

/// <summary>A role in camel case, as lab.json has always had it.</summary>
internal sealed class LabRoleJsonConverter() : JsonStringEnumConverter<LabRole>(JsonNamingPolicy.CamelCase);
