using System.Text.Json;
using Google.Protobuf;
using MessagePack;
using ProtoSwarm.Contracts;
using ProtoSwarm.Networking.Remote;

namespace ProtoSwarm.Tests.Contracts;

public class ContractRoundTripTests
{
    private static readonly JsonSerializerOptions Json = new();

    public static TheoryData<string> ContractNames() => [.. ContractRegistry.Types.Select(t => t.Name).Order(StringComparer.Ordinal)];

    [Fact]
    public void Registry_Finds_Every_MessagePack_Type_In_The_Contracts_Assembly()
    {
        var declared = typeof(ContractRegistry).Assembly.GetTypes()
            .Where(t => t.IsDefined(typeof(MessagePackObjectAttribute), inherit: false))
            .ToHashSet();

        Assert.Equal(declared, ContractRegistry.Types.ToHashSet());
        Assert.Contains(typeof(NodeObject), declared);
        Assert.Contains(typeof(ControlEnvelope), declared);
        Assert.Contains(typeof(JoinRequest), declared);
    }

    [Fact]
    public void Contract_Names_Are_Unique_And_Resolve_Back_To_Their_Type()
    {
        var names = ContractRegistry.Types.Select(ContractRegistry.NameOf).ToList();

        Assert.Equal(names.Count, names.Distinct(StringComparer.Ordinal).Count());
        foreach (var type in ContractRegistry.Types)
        {
            Assert.True(ContractRegistry.TryResolve(ContractRegistry.NameOf(type), out var resolved));
            Assert.Same(type, resolved);
        }
    }

    [Theory]
    [MemberData(nameof(ContractNames))]
    public void Every_Contract_Survives_The_Registry_Round_Trip_With_Every_Field(string name)
    {
        var original = Sample(name);

        var bytes = ContractRegistry.Serialize(original);
        var copy = ContractRegistry.Deserialize(name, bytes);

        AssertSameContent(original, copy);
        Assert.Equal(bytes, ContractRegistry.Serialize(copy));
    }

    [Theory]
    [MemberData(nameof(ContractNames))]
    public void Every_Contract_Survives_The_Proto_Remote_Serializer_Round_Trip(string name)
    {
        var serializer = new ContractSerializer();
        var original = Sample(name);

        Assert.True(serializer.CanSerialize(original));
        var typeName = serializer.GetTypeName(original);
        var bytes = serializer.Serialize(original);
        var copy = serializer.Deserialize(ByteString.CopyFrom(bytes.Span), typeName);

        Assert.Equal(name, typeName);
        AssertSameContent(original, copy);
    }

    [Theory]
    [MemberData(nameof(ContractNames))]
    public void Every_Contract_Survives_The_Control_Envelope(string name)
    {
        var original = Sample(name);

        var envelope = ControlEnvelope.Wrap(original);
        var wire = ContractRegistry.SerializeTyped(envelope);
        var copy = ContractRegistry.Deserialize<ControlEnvelope>(wire).Unwrap();

        Assert.Equal(name, envelope.Type);
        AssertSameContent(original, copy);
    }

    [Fact]
    public void Sample_Values_Leave_No_Field_At_Its_Default()
    {
        foreach (var type in ContractRegistry.Types)
        {
            var sample = new SampleValues().Build(type);
            foreach (var property in SampleValues.DataProperties(type))
            {
                var value = property.GetValue(sample);
                var defaultValue = property.PropertyType.IsValueType ? Activator.CreateInstance(property.PropertyType) : null;
                Assert.False(Equals(value, defaultValue), $"{type.Name}.{property.Name} was left at its default");
            }
        }
    }

    [Fact]
    public void Unknown_Type_Name_Is_Refused()
    {
        var bytes = ContractRegistry.Serialize(new ListNodes("r1"));

        var e = Assert.Throws<MessagePackSerializationException>(() => ContractRegistry.Deserialize("NoSuchContract", bytes));
        Assert.Contains("NoSuchContract", e.Message, StringComparison.Ordinal);
        Assert.False(ContractRegistry.TryResolve("NoSuchContract", out _));
    }

    [Fact]
    public void Unknown_Type_Name_Is_Refused_By_The_Remote_Serializer()
    {
        var serializer = new ContractSerializer();

        Assert.Throws<MessagePackSerializationException>(() => serializer.Deserialize(ByteString.CopyFrom(1, 2, 3), "System.String"));
    }

    public static TheoryData<string, byte[]> GarbagePayloads() => new()
    {
        { "empty", [] },
        { "nil", [0xc0] },
        { "random bytes", [0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03] },
        { "a string, not an array", MessagePackSerializer.Serialize("hello") },
        { "truncated", ContractRegistry.Serialize(new NodeObject("n", ObjectMeta.New(DateTimeOffset.UnixEpoch), null!, default, null!, null!, null, null))[..6] },
    };

    [Theory]
    [MemberData(nameof(GarbagePayloads))]
    public void Garbage_Bytes_Are_Refused_With_A_Serialization_Exception(string what, byte[] payload)
    {
        var e = Record.Exception(() => ContractRegistry.Deserialize(nameof(NodeObject), payload));

        Assert.True(e is MessagePackSerializationException, $"{what}: expected MessagePackSerializationException, got {e?.GetType().Name ?? "no exception"}");
    }

    [Fact]
    public void Name_Of_A_Type_That_Is_Not_A_Contract_Is_Refused()
    {
        Assert.Throws<ArgumentException>(() => ContractRegistry.NameOf(typeof(string)));
        Assert.False(ContractRegistry.IsContract(typeof(string)));
        Assert.False(new ContractSerializer().CanSerialize("not a contract"));
    }

    [Fact]
    public void Control_Envelope_Wraps_By_Contract_Name_And_Unwraps_To_An_Equal_Message()
    {
        var message = new RemoveNode("req-1", "node-a", Force: true);

        var envelope = ControlEnvelope.Wrap(message);

        Assert.Equal(nameof(RemoveNode), envelope.Type);
        Assert.Equal(message, envelope.Unwrap());
    }

    [Fact]
    public void Control_Envelope_Of_A_Non_Contract_Is_Refused()
    {
        Assert.Throws<ArgumentException>(() => ControlEnvelope.Wrap(new object()));
    }

    private static object Sample(string name)
    {
        Assert.True(ContractRegistry.TryResolve(name, out var type));
        return new SampleValues().Build(type);
    }

    // Records holding ImmutableArray compare the arrays by reference, so content is compared as JSON.
    private static void AssertSameContent(object expected, object actual)
    {
        Assert.IsType(expected.GetType(), actual);
        Assert.Equal(JsonSerializer.Serialize(expected, expected.GetType(), Json), JsonSerializer.Serialize(actual, actual.GetType(), Json));
    }
}
