using System.Buffers;
using MessagePack;

namespace ProtoSwarm.Contracts;

/// <summary>
/// One contract type's generic serializer calls behind object-typed ones (<see cref="ContractRegistry"/>'s): MessagePack's
/// own non-generic API compiles an expression tree per type on first use. The generator makes one per contract
/// (GeneratedContractResolver.CodecOf), so no instantiation is made at run time.
/// </summary>
internal abstract class ContractCodec
{
    public abstract byte[] Serialize(object value, MessagePackSerializerOptions options);

    public abstract void Serialize(IBufferWriter<byte> output, object value, MessagePackSerializerOptions options);

    public abstract object? Deserialize(ReadOnlyMemory<byte> bytes, MessagePackSerializerOptions options);
}

internal sealed class ContractCodec<T> : ContractCodec
{
    public override byte[] Serialize(object value, MessagePackSerializerOptions options) => MessagePackSerializer.Serialize((T)value, options);

    public override void Serialize(IBufferWriter<byte> output, object value, MessagePackSerializerOptions options) =>
        MessagePackSerializer.Serialize(output, (T)value, options);

    public override object? Deserialize(ReadOnlyMemory<byte> bytes, MessagePackSerializerOptions options) =>
        MessagePackSerializer.Deserialize<T>(bytes, options);
}
