using System.Collections.Frozen;
using System.Reflection;
using MessagePack;
using MessagePack.Resolvers;

namespace ProtoSwarm.Contracts;

/// <summary>
/// Every wire type of ProtoSwarm, by a short stable name (the type's name). The Proto.Remote
/// serializer and the control socket both use it, so a type has one name everywhere.
/// </summary>
public static class ContractRegistry
{
    /// <summary>Untrusted-data hardening on: bytes from the network are never trusted. Made on first use: setting up
    /// MessagePack's standard resolver costs ~20 ms, which a process on <see cref="ReflectionOptions"/> never pays.</summary>
    public static MessagePackSerializerOptions Options => StandardOptions.Value;

    /// <summary>
    /// The same bytes and hardening with no code generated at run time (<see cref="ReflectionContractResolver"/>):
    /// for a short-lived process that sends one request (the CLI), where generating the formatters costs more than the message.
    /// </summary>
    public static readonly MessagePackSerializerOptions ReflectionOptions = new MessagePackSerializerOptions(ReflectionContractResolver.Instance)
        .WithSecurity(MessagePackSecurity.UntrustedData);

    private static readonly FrozenDictionary<string, Type> ByName;
    private static readonly FrozenDictionary<Type, string> ByType;

    static ContractRegistry()
    {
        var types = typeof(ContractRegistry).Assembly.GetTypes()
            .Where(t => t.GetCustomAttribute<MessagePackObjectAttribute>() is not null && !t.IsAbstract)
            .ToList();
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

    public static byte[] Serialize(object message) => Serialize(message, Options);

    public static byte[] Serialize(object message, MessagePackSerializerOptions options) =>
        options.Resolver is ReflectionContractResolver
            ? ReflectionContractResolver.Serialize(message, options)
            : MessagePackSerializer.Serialize(message.GetType(), message, options);

    public static object Deserialize(string name, ReadOnlyMemory<byte> bytes) => Deserialize(name, bytes, Options);

    public static object Deserialize(string name, ReadOnlyMemory<byte> bytes, MessagePackSerializerOptions options)
    {
        if (!ByName.TryGetValue(name, out var type))
        {
            throw new MessagePackSerializationException($"Unknown contract type '{name}'");
        }

        return (options.Resolver is ReflectionContractResolver
                   ? ReflectionContractResolver.Deserialize(type, bytes, options)
                   : MessagePackSerializer.Deserialize(type, bytes, options))
               ?? throw new MessagePackSerializationException($"Empty payload for contract type '{name}'");
    }

    public static T Deserialize<T>(ReadOnlyMemory<byte> bytes) => Deserialize<T>(bytes, Options);

    public static T Deserialize<T>(ReadOnlyMemory<byte> bytes, MessagePackSerializerOptions options) =>
        options.Resolver is ReflectionContractResolver
            ? (T)ReflectionContractResolver.Deserialize(typeof(T), bytes, options)!
            : MessagePackSerializer.Deserialize<T>(bytes, options);

    public static byte[] SerializeTyped<T>(T value) => SerializeTyped(value, Options);

    public static byte[] SerializeTyped<T>(T value, MessagePackSerializerOptions options) =>
        options.Resolver is ReflectionContractResolver
            ? ReflectionContractResolver.Serialize(value!, options)
            : MessagePackSerializer.Serialize(value, options);

    private static class StandardOptions
    {
        public static readonly MessagePackSerializerOptions Value = MessagePackSerializerOptions.Standard
            .WithResolver(StandardResolver.Instance)
            .WithSecurity(MessagePackSecurity.UntrustedData);
    }
}

/// <summary>One message on the control socket: a contract name and its MessagePack body.</summary>
[MessagePackObject]
public sealed record ControlEnvelope(
    [property: Key(0)] string Type,
    [property: Key(1)] byte[] Body)
{
    public static ControlEnvelope Wrap(object message) => Wrap(message, ContractRegistry.Options);

    public static ControlEnvelope Wrap(object message, MessagePackSerializerOptions options) =>
        new(ContractRegistry.NameOf(message.GetType()), ContractRegistry.Serialize(message, options));

    public object Unwrap() => Unwrap(ContractRegistry.Options);

    public object Unwrap(MessagePackSerializerOptions options) => ContractRegistry.Deserialize(Type, Body, options);
}
