using System.Buffers;
using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Runtime.CompilerServices;
using MessagePack;
using ProtoSwarm.Contracts.ContractFormatters;

namespace ProtoSwarm.Contracts;

/// <summary>
/// Every wire type of ProtoSwarm, by a short stable name (the type's name). The Proto.Remote
/// serializer and the control socket both use it, so a type has one name everywhere.
/// </summary>
public static class ContractRegistry
{
    /// <summary>
    /// Untrusted-data hardening on: bytes from the network are never trusted. Every contract goes through the
    /// formatter generated for it at build time (<see cref="ContractResolver"/>): nothing is emitted or compiled
    /// at run time, so a short-lived process (the CLI) pays no more for its first message than a manager does.
    /// Made with its constructor, not from <see cref="MessagePackSerializerOptions.Standard"/> (the same settings):
    /// touching that sets up MessagePack's StandardResolver, 25-45 ms of a process's start for nothing here.
    /// </summary>
    public static readonly MessagePackSerializerOptions Options = new MessagePackSerializerOptions(ContractResolver.Instance)
        .WithSecurity(MessagePackSecurity.UntrustedData);

    private static readonly ConcurrentDictionary<Type, ContractCodec> Codecs = new();

    private static readonly FrozenDictionary<string, Type> ByName;
    private static readonly FrozenDictionary<Type, string> ByType;

    static ContractRegistry()
    {
        // The generator's list: every [MessagePackObject] type here has a formatter, or the build failed.
        var types = GeneratedContractResolver.Types.ToList();
        var duplicates = types.GroupBy(t => t.Name).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (duplicates.Count > 0)
        {
            throw new InvalidOperationException($"Contract names must be unique; repeated: {string.Join(", ", duplicates)}");
        }

        ByName = types.ToFrozenDictionary(t => t.Name, t => t, StringComparer.Ordinal);
        ByType = types.ToFrozenDictionary(t => t, t => t.Name);
    }

    public static IReadOnlyCollection<Type> Types => ByName.Values;

    public static bool IsContract(Type type) => ByType.ContainsKey(type);

    public static string NameOf(Type type) =>
        ByType.TryGetValue(type, out var name)
            ? name
            : throw new ArgumentException($"{type.FullName} is not a ProtoSwarm contract", nameof(type));

    public static bool TryResolve(string name, out Type type) => ByName.TryGetValue(name, out type!);

    /// <summary>
    /// A contract known only as an object, through its generic formatter: MessagePack's own non-generic API
    /// compiles an expression tree per type on first use, which is the start-up cost the generated formatters remove.
    /// </summary>
    public static byte[] Serialize(object message) => CodecOf(message.GetType()).Serialize(message, Options);

    /// <summary>Writes a contract known only as an object to a buffer (the store's payloads).</summary>
    public static void Serialize(IBufferWriter<byte> output, object message) =>
        CodecOf(message.GetType()).Serialize(output, message, Options);

    public static object Deserialize(string name, ReadOnlyMemory<byte> bytes)
    {
        if (!ByName.TryGetValue(name, out var type))
        {
            throw new MessagePackSerializationException($"Unknown contract type '{name}'");
        }

        return CodecOf(type).Deserialize(bytes, Options)
               ?? throw new MessagePackSerializationException($"Empty payload for contract type '{name}'");
    }

    public static T Deserialize<T>(ReadOnlyMemory<byte> bytes) => MessagePackSerializer.Deserialize<T>(bytes, Options);

    public static byte[] SerializeTyped<T>(T value) => MessagePackSerializer.Serialize(value, Options);

    private static ContractCodec CodecOf(Type type) =>
        Codecs.GetOrAdd(type, static t => GeneratedContractResolver.CodecOf(t) ?? MadeAtRunTime(t));

    /// <summary>
    /// A type of another assembly passed as an object (none is today: the registry names only this assembly's
    /// contracts) gets its codec instantiated at run time where there is a JIT; a NativeAOT binary has none.
    /// </summary>
    private static ContractCodec MadeAtRunTime(Type type) =>
        RuntimeFeature.IsDynamicCodeSupported
            ? (ContractCodec)Activator.CreateInstance(typeof(ContractCodec<>).MakeGenericType(type))!
            : throw new NotSupportedException($"{type.FullName} is not a contract of ProtoSwarm.Contracts; serialize it with its type known (MessagePackSerializer.Serialize<T>).");
}

/// <summary>One message on the control socket: a contract name and its MessagePack body.</summary>
[MessagePackObject]
public sealed record ControlEnvelope(
    [property: Key(0)] string Type,
    [property: Key(1)] byte[] Body)
{
    public static ControlEnvelope Wrap(object message) => new(ContractRegistry.NameOf(message.GetType()), ContractRegistry.Serialize(message));

    public object Unwrap() => ContractRegistry.Deserialize(Type, Body);
}
