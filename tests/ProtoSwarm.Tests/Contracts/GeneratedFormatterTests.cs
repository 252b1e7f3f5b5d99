using System.Reflection;
using System.Text.Json;
using MessagePack;
using MessagePack.Resolvers;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Tests.Contracts;

/// <summary>
/// The formatters ProtoSwarm.Contracts.Generator writes at build time against MessagePack's own resolver, which
/// emits a formatter per type at run time and wrote every byte stored and sent before them: the same bytes for a
/// sample of every contract of every assembly, read back either way, and no contract or member type left to a
/// resolver that emits code.
/// </summary>
public class GeneratedFormatterTests
{
    private static readonly JsonSerializerOptions Json = new();

    /// <summary>What ContractRegistry.Options was before the generated formatters: MessagePack's emitting resolver.</summary>
    private static readonly MessagePackSerializerOptions Emitting = MessagePackSerializerOptions.Standard
        .WithResolver(StandardResolver.Instance)
        .WithSecurity(MessagePackSecurity.UntrustedData);

    /// <summary>Every assembly whose contracts are serialized at run time, by a type each declares.</summary>
    private static readonly Assembly[] ContractAssemblies =
    [
        typeof(ContractRegistry).Assembly,
        typeof(ProtoSwarm.Raft.Message).Assembly,
        typeof(ProtoSwarm.Persistence.RaftIdentity).Assembly,
        typeof(ProtoSwarm.Actors.Store.WireChange).Assembly,
        typeof(GeneratedFormatterTests).Assembly,
    ];

    private static readonly Dictionary<string, Type> ContractsByName = ContractAssemblies
        .SelectMany(a => a.GetTypes())
        .Where(t => t.IsDefined(typeof(MessagePackObjectAttribute), inherit: false) && !t.IsAbstract)
        .ToDictionary(t => t.FullName!, StringComparer.Ordinal);

    public static TheoryData<string> Contracts() => [.. ContractsByName.Keys.Order(StringComparer.Ordinal)];

    [Fact]
    public void Every_Assembly_Resolver_Lists_Exactly_Its_MessagePack_Types()
    {
        foreach (var assembly in ContractAssemblies)
        {
            var resolver = ContractResolver.GeneratedResolverOf(assembly);
            Assert.NotNull(resolver);
            var listed = (IReadOnlyList<Type>)resolver.GetType().GetProperty("Types")!.GetValue(null)!;
            var declared = ContractsByName.Values.Where(t => t.Assembly == assembly).ToHashSet();

            Assert.Equal(declared, listed.ToHashSet());
        }

        Assert.Contains(typeof(ProtoSwarm.Raft.Message), ContractsByName.Values);
        Assert.Contains(typeof(ProtoSwarm.Raft.HardState), ContractsByName.Values);
        Assert.Contains(typeof(ProtoSwarm.Actors.Store.StoreProposal), ContractsByName.Values);
    }

    [Theory]
    [MemberData(nameof(Contracts))]
    public void Every_Contract_Has_The_Bytes_Of_MessagePacks_Emitting_Resolver_And_Reads_Them_Back(string name)
    {
        var type = ContractsByName[name];
        var original = new SampleValues().Build(type);

        var generated = MessagePackSerializer.Serialize(type, original, ContractRegistry.Options);
        var emitted = MessagePackSerializer.Serialize(type, original, Emitting);

        Assert.Equal(emitted, generated);
        var copy = MessagePackSerializer.Deserialize(type, generated, ContractRegistry.Options)!;
        AssertSameContent(original, copy);
        Assert.Equal(generated, MessagePackSerializer.Serialize(type, copy, ContractRegistry.Options));
        AssertSameContent(original, MessagePackSerializer.Deserialize(type, emitted, Emitting)!);
    }

    [Theory]
    [MemberData(nameof(Contracts))]
    public void Every_Contract_Reads_A_Nil_And_A_Shorter_Array_As_The_Emitting_Resolver_Does(string name)
    {
        var type = ContractsByName[name];

        // An older writer's record: fewer keys than today's. Absent members take their defaults in both, with one
        // deliberate difference: for an absent constructor parameter declared with a default (string Token = ""),
        // the emitting resolver passes default(T) (null) and the generated formatter the declared default, so it
        // reads as if the writer had written that default (docs/ARCHITECTURE.md).
        var original = new SampleValues().Build(type);
        var full = MessagePackSerializer.Serialize(type, original, Emitting);
        var shorter = FirstElements(full, 1);
        var fromEmitted = MessagePackSerializer.Deserialize(type, WithDeclaredDefaults(type, shorter), Emitting)!;
        var fromGenerated = MessagePackSerializer.Deserialize(type, shorter, ContractRegistry.Options)!;

        // Compared by their bytes: a member left default (an ImmutableArray) has no JSON form.
        Assert.IsType(type, fromGenerated);
        Assert.Equal(MessagePackSerializer.Serialize(type, fromEmitted, Emitting), MessagePackSerializer.Serialize(type, fromGenerated, Emitting));

        if (!type.IsValueType)
        {
            Assert.Null(MessagePackSerializer.Deserialize(type, new byte[] { 0xc0 }, ContractRegistry.Options));
            Assert.Equal(new byte[] { 0xc0 }, MessagePackSerializer.Serialize(type, (object?)null, ContractRegistry.Options));
        }
    }

    [Theory]
    [MemberData(nameof(Contracts))]
    public void No_Contract_Or_Member_Type_Falls_Through_To_A_Resolver_That_Emits_Code(string name)
    {
        var type = ContractsByName[name];

        var formatter = ContractRegistry.Options.Resolver.GetFormatterDynamic(type);

        Assert.NotNull(formatter);
        Assert.Equal(type.Namespace + ".ContractFormatters", formatter.GetType().Namespace);
        Assert.Same(type.Assembly, formatter.GetType().Assembly);
        foreach (var memberType in MemberTypes(type))
        {
            var memberFormatter = ContractRegistry.Options.Resolver.GetFormatterDynamic(memberType);
            Assert.True(memberFormatter is not null, $"{type.Name}: no formatter for {memberType}");
            Assert.False(memberFormatter.GetType().Assembly.IsDynamic, $"{type.Name}: {memberType}'s formatter {memberFormatter.GetType()} was emitted at run time");
        }
    }

    /// <summary>
    /// A generated formatter makes its collections' formatters itself (the CLI is a NativeAOT binary, where MessagePack's
    /// resolvers could not make them with MakeGenericType): each must be the one those resolvers choose, or the bytes
    /// of a collection could differ from what the emitting resolver wrote.
    /// </summary>
    [Fact]
    public void Every_Member_Formatter_A_Generated_Formatter_Holds_Is_The_One_MessagePacks_Resolvers_Choose()
    {
        // ContractResolver's own choice for a type that is not a contract: MessagePack's built-in, immutable-collection
        // and generic resolvers, in that order.
        var choose = typeof(ContractResolver).GetMethod(nameof(ContractResolver.GetFormatter))!;
        var collections = 0;
        var formatters = ContractAssemblies.SelectMany(a => a.GetTypes())
            .Where(t => t.Namespace?.EndsWith(".ContractFormatters", StringComparison.Ordinal) == true && t.Name.EndsWith("Formatter", StringComparison.Ordinal));
        foreach (var formatter in formatters)
        {
            foreach (var field in formatter.GetFields(BindingFlags.NonPublic | BindingFlags.Static)
                         .Where(f => f.FieldType.IsGenericType && f.FieldType.GetGenericTypeDefinition() == typeof(MessagePack.Formatters.IMessagePackFormatter<>)))
            {
                var memberType = field.FieldType.GetGenericArguments()[0];
                var chosen = choose.MakeGenericMethod(memberType).Invoke(ContractResolver.Instance, null);
                Assert.True(chosen is not null, $"{formatter.Name}.{field.Name}: MessagePack's resolvers have no formatter for {memberType}");
                Assert.Equal(chosen.GetType(), field.GetValue(null)!.GetType());
                collections += memberType.IsGenericType ? 1 : 0;
            }
        }

        Assert.True(collections > 0, "no generated formatter holds a collection's formatter");
    }

    [Fact]
    public void A_Contract_Nested_Deeper_Than_The_Security_Allows_Is_Refused()
    {
        var shallow = ContractRegistry.Options.WithSecurity(MessagePackSecurity.UntrustedData.WithMaximumObjectGraphDepth(2));
        var message = new ProtoSwarm.Raft.Message(ProtoSwarm.Raft.MessageType.Snapshot, 2, 1, 3, 0, 0, [], 0,
            new ProtoSwarm.Raft.Snapshot(new ProtoSwarm.Raft.SnapshotMetadata(1, 1, ProtoSwarm.Raft.ConfState.Empty), [1]), false, 0, null);
        var bytes = MessagePackSerializer.Serialize(message, ContractRegistry.Options);

        Assert.Throws<MessagePackSerializationException>(() => MessagePackSerializer.Deserialize<ProtoSwarm.Raft.Message>(bytes, shallow));
        Assert.Equal(1UL, MessagePackSerializer.Deserialize<ProtoSwarm.Raft.Message>(bytes, ContractRegistry.Options).Snapshot!.Metadata.Index);
    }

    /// <summary>The keyed members' types, and the type arguments and elements inside them.</summary>
    private static IEnumerable<Type> MemberTypes(Type type)
    {
        var seen = new HashSet<Type>();
        var pending = new Stack<Type>(type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.IsDefined(typeof(KeyAttribute), inherit: true)).Select(p => p.PropertyType));
        while (pending.TryPop(out var next))
        {
            if (!seen.Add(next))
            {
                continue;
            }

            yield return next;
            foreach (var inner in next.IsArray ? [next.GetElementType()!] : next.GetGenericArguments())
            {
                pending.Push(inner);
            }
        }
    }

    /// <summary>
    /// <paramref name="shorter"/> with the absent keys of the constructor's parameters that declare a non-default
    /// value written out as that value (and default(T) for the absent ones before them), through the constructor
    /// MessagePack chooses: the most parameters, the i-th accepting the member of the i-th smallest key.
    /// </summary>
    private static byte[] WithDeclaredDefaults(Type type, byte[] shorter)
    {
        var members = type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(p => (Member: (System.Reflection.MemberInfo)p, p.PropertyType))
            .Concat(type.GetFields(BindingFlags.Public | BindingFlags.Instance).Select(f => (Member: (System.Reflection.MemberInfo)f, PropertyType: f.FieldType)))
            .Select(m => (Key: m.Member.GetCustomAttribute<KeyAttribute>(inherit: true), Type: m.PropertyType))
            .Where(m => m.Key?.IntKey is not null)
            .Select(m => (Key: m.Key!.IntKey!.Value, m.Type))
            .OrderBy(m => m.Key)
            .ToList();
        var constructor = type.GetConstructors()
            .OrderByDescending(c => c.GetParameters().Length)
            .FirstOrDefault(c => c.GetParameters().Length <= members.Count
                && c.GetParameters().Select((p, i) => p.ParameterType.IsAssignableFrom(members[i].Type)).All(ok => ok));
        var parameters = constructor?.GetParameters() ?? [];
        var reader = new MessagePackReader(shorter);
        var count = reader.ReadArrayHeader();
        var last = Enumerable.Range(0, parameters.Length)
            .LastOrDefault(i => members[i].Key >= count && parameters[i].ParameterType == members[i].Type && parameters[i].HasDefaultValue && parameters[i].DefaultValue is not null, -1);
        if (last < 0)
        {
            return shorter;
        }

        var output = new System.Buffers.ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(output);
        writer.WriteArrayHeader(members[last].Key + 1);
        for (var i = 0; i < count; i++)
        {
            writer.WriteRaw(reader.ReadRaw());
        }

        for (var key = count; key <= members[last].Key; key++)
        {
            var index = members.FindIndex(m => m.Key == key);
            if (index < 0)
            {
                writer.WriteNil();
                continue;
            }

            var parameter = parameters[index];
            var declared = parameter.ParameterType == members[index].Type && parameter.HasDefaultValue ? parameter.DefaultValue : null;
            var underlying = Nullable.GetUnderlyingType(members[index].Type) ?? members[index].Type;
            var value = declared is null
                ? (members[index].Type.IsValueType ? Activator.CreateInstance(members[index].Type) : null)
                : underlying.IsEnum ? Enum.ToObject(underlying, declared) : declared;
            writer.WriteRaw(MessagePackSerializer.Serialize(members[index].Type, value, Emitting));
        }

        writer.Flush();
        return output.WrittenSpan.ToArray();
    }

    /// <summary>A MessagePack array cut to its first <paramref name="count"/> elements.</summary>
    private static byte[] FirstElements(byte[] array, int count)
    {
        var reader = new MessagePackReader(array);
        var length = reader.ReadArrayHeader();
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(output);
        writer.WriteArrayHeader(Math.Min(count, length));
        for (var i = 0; i < Math.Min(count, length); i++)
        {
            writer.WriteRaw(reader.ReadRaw());
        }

        writer.Flush();
        return output.WrittenSpan.ToArray();
    }

    private static void AssertSameContent(object expected, object actual)
    {
        Assert.IsType(expected.GetType(), actual);
        Assert.Equal(JsonSerializer.Serialize(expected, expected.GetType(), Json), JsonSerializer.Serialize(actual, actual.GetType(), Json));
    }
}
