using Google.Protobuf;
using Proto.Remote;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Networking.Remote;

/// <summary>
/// Proto.Remote serializer for every ProtoSwarm contract (MessagePack, by the registry's short
/// names). A message with no serializer would reset the whole connection to a node, so every
/// contract type is covered here and round-tripped by a test.
/// </summary>
public sealed class ContractSerializer : ISerializer
{
    /// <summary>Proto.Remote keeps 0 (protobuf) and 1 (JSON).</summary>
    public const int SerializerId = 7;

    public const int Priority = 100;

    public ByteString Serialize(object obj) => UnsafeByteOperations.UnsafeWrap(ContractRegistry.Serialize(obj));

    public object Deserialize(ByteString bytes, string typeName) => ContractRegistry.Deserialize(typeName, bytes.Memory);

    public string GetTypeName(object message) => ContractRegistry.NameOf(message.GetType());

    public bool CanSerialize(object obj) => ContractRegistry.IsContract(obj.GetType());
}
