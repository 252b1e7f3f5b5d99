using System.Buffers;
using System.Collections.Concurrent;
using System.Reflection;
using MessagePack;
using MessagePack.Formatters;
using MessagePack.ImmutableCollection;
using MessagePack.Resolvers;

namespace ProtoSwarm.Contracts;

/// <summary>
/// The contracts' wire format without code generated at run time. MessagePack's standard resolver emits and
/// JIT-compiles a formatter per contract type on first use, which cost the CLI ~100 ms of CPU before its one
/// request (docs/benchmarks.md, swarm-scale); this one reads and writes the same bytes by reflection: an array
/// indexed by each member's [Key], nil in the gaps, enums as their underlying integer, and the constructor
/// whose parameters match the members in key order (as the standard resolver picks it). Each message costs
/// more, so long-lived processes keep <see cref="ContractRegistry.Options"/>. Collections, strings, times and
/// the other built-in types go to MessagePack's own resolvers, which generate no code for them.
/// </summary>
public sealed class ReflectionContractResolver : IFormatterResolver
{
    public static readonly ReflectionContractResolver Instance = new();

    private static readonly ConcurrentDictionary<Type, Codec> Codecs = new();

    private ReflectionContractResolver()
    {
    }

    public IMessagePackFormatter<T>? GetFormatter<T>() => Cache<T>.Formatter;

    /// <summary>Serializes a contract known only as an object (<see cref="ContractRegistry.Serialize(object, MessagePackSerializerOptions)"/>).</summary>
    public static byte[] Serialize(object value, MessagePackSerializerOptions options)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        CodecOf(value.GetType()).Write(ref writer, value, options);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    public static object? Deserialize(Type type, ReadOnlyMemory<byte> bytes, MessagePackSerializerOptions options)
    {
        var reader = new MessagePackReader(bytes);
        try
        {
            return CodecOf(type).Read(ref reader, options);
        }
        catch (Exception e) when (e is not MessagePackSerializationException)
        {
            throw new MessagePackSerializationException($"Failed to deserialize {type.Name}: {e.Message}", e);
        }
    }

    private static Codec CodecOf(Type type) =>
        Codecs.GetOrAdd(type, static t => (Codec)Activator.CreateInstance(typeof(Codec<>).MakeGenericType(t))!);

    private static class Cache<T>
    {
        public static readonly IMessagePackFormatter<T>? Formatter = Create();

        private static IMessagePackFormatter<T>? Create()
        {
            var type = typeof(T);
            if (type.IsEnum)
            {
                return new EnumFormatter<T>();
            }

            if (type.IsDefined(typeof(MessagePackObjectAttribute), inherit: false) && !type.IsAbstract && !type.IsInterface)
            {
                return new ObjectFormatter<T>();
            }

            return BuiltinResolver.Instance.GetFormatter<T>()
                ?? AttributeFormatterResolver.Instance.GetFormatter<T>()
                ?? ImmutableCollectionResolver.Instance.GetFormatter<T>()
                ?? DynamicGenericResolver.Instance.GetFormatter<T>()
                ?? StandardResolver.Instance.GetFormatter<T>();
        }
    }

    /// <summary>One type's formatter behind object-typed calls, so a member's value can be written without knowing its type statically.</summary>
    private abstract class Codec
    {
        public abstract void Write(ref MessagePackWriter writer, object? value, MessagePackSerializerOptions options);

        public abstract object? Read(ref MessagePackReader reader, MessagePackSerializerOptions options);
    }

    private sealed class Codec<T> : Codec
    {
        public override void Write(ref MessagePackWriter writer, object? value, MessagePackSerializerOptions options) =>
            options.Resolver.GetFormatterWithVerify<T>().Serialize(ref writer, (T)value!, options);

        public override object? Read(ref MessagePackReader reader, MessagePackSerializerOptions options) =>
            options.Resolver.GetFormatterWithVerify<T>().Deserialize(ref reader, options);
    }

    /// <summary>An enum as its underlying integer, as MessagePack's enum formatter writes it.</summary>
    private sealed class EnumFormatter<T> : IMessagePackFormatter<T>
    {
        private static readonly TypeCode Underlying = Type.GetTypeCode(Enum.GetUnderlyingType(typeof(T)));

        public void Serialize(ref MessagePackWriter writer, T value, MessagePackSerializerOptions options)
        {
            if (Underlying == TypeCode.UInt64)
            {
                writer.Write(Convert.ToUInt64(value, System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                writer.Write(Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        public T Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
        {
            object number = Underlying switch
            {
                TypeCode.SByte => reader.ReadSByte(),
                TypeCode.Byte => reader.ReadByte(),
                TypeCode.Int16 => reader.ReadInt16(),
                TypeCode.UInt16 => reader.ReadUInt16(),
                TypeCode.Int32 => reader.ReadInt32(),
                TypeCode.UInt32 => reader.ReadUInt32(),
                TypeCode.UInt64 => reader.ReadUInt64(),
                _ => reader.ReadInt64(),
            };
            return (T)Enum.ToObject(typeof(T), number);
        }
    }

    private sealed record Member(int Key, Type Type, PropertyInfo? Property, FieldInfo? Field, Codec Codec)
    {
        public bool CanSet => Property?.SetMethod is { IsPublic: true } || Field is { IsInitOnly: false };

        public object? Get(object owner) => Property is not null ? Property.GetValue(owner) : Field!.GetValue(owner);

        public void Set(object owner, object? value)
        {
            if (Property is not null)
            {
                Property.SetValue(owner, value);
            }
            else
            {
                Field!.SetValue(owner, value);
            }
        }
    }

    private sealed class ObjectFormatter<T> : IMessagePackFormatter<T>
    {
        private readonly Member?[] _byKey;
        private readonly ConstructorInfo? _constructor;
        private readonly Member[] _constructorMembers;
        private readonly Member[] _setAfter;

        public ObjectFormatter()
        {
            var type = typeof(T);
            const BindingFlags Public = BindingFlags.Public | BindingFlags.Instance;
            var members = type.GetProperties(Public).Where(p => p.GetMethod is { IsPublic: true } && p.GetIndexParameters().Length == 0)
                .Select(p => (Info: (System.Reflection.MemberInfo)p, Type: p.PropertyType))
                .Concat(type.GetFields(Public).Select(f => (Info: (System.Reflection.MemberInfo)f, Type: f.FieldType)))
                .Where(m => !m.Info.IsDefined(typeof(IgnoreMemberAttribute), inherit: true))
                .Select(m => (m.Info, m.Type, Key: m.Info.GetCustomAttribute<KeyAttribute>(inherit: true)))
                .Where(m => m.Key is not null)
                .Select(m => new Member(
                    m.Key!.IntKey ?? throw new MessagePackSerializationException($"{type.Name}.{m.Info.Name}: only integer keys are supported"),
                    m.Type, m.Info as PropertyInfo, m.Info as FieldInfo, CodecOf(m.Type)))
                .OrderBy(m => m.Key)
                .ToArray();

            _byKey = new Member?[members.Length == 0 ? 0 : members[^1].Key + 1];
            foreach (var member in members)
            {
                _byKey[member.Key] = member;
            }

            // The standard resolver's choice: the public constructor with the most parameters whose i-th parameter
            // takes the i-th member in key order; a struct may have none.
            var chosen = type.GetConstructors()
                .OrderByDescending(c => c.GetParameters().Length)
                .Select(c => (Constructor: (ConstructorInfo?)c, Members: Match(c.GetParameters(), members)))
                .FirstOrDefault(c => c.Members is not null);
            if (chosen.Constructor is null && !type.IsValueType)
            {
                throw new MessagePackSerializationException($"{type.Name} has no public constructor whose parameters match its keyed members.");
            }

            _constructor = chosen.Constructor;
            _constructorMembers = chosen.Members ?? [];
            _setAfter = [.. members.Where(m => !_constructorMembers.Contains(m) && m.CanSet)];
        }

        public void Serialize(ref MessagePackWriter writer, T value, MessagePackSerializerOptions options)
        {
            if (value is null)
            {
                writer.WriteNil();
                return;
            }

            writer.WriteArrayHeader(_byKey.Length);
            foreach (var member in _byKey)
            {
                if (member is null)
                {
                    writer.WriteNil();
                }
                else
                {
                    member.Codec.Write(ref writer, member.Get(value), options);
                }
            }
        }

        public T Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
        {
            if (!typeof(T).IsValueType && reader.TryReadNil())
            {
                return default!;
            }

            options.Security.DepthStep(ref reader);
            var values = new object?[_byKey.Length];
            var present = new bool[_byKey.Length];
            var count = reader.ReadArrayHeader();
            for (var i = 0; i < count; i++)
            {
                if (i < _byKey.Length && _byKey[i] is { } member)
                {
                    values[i] = member.Codec.Read(ref reader, options);
                    present[i] = true;
                }
                else
                {
                    reader.Skip();
                }
            }

            reader.Depth--;
            var result = _constructor is null
                ? Activator.CreateInstance<T>()!
                : _constructor.Invoke([.. _constructorMembers.Select(m => values[m.Key])]);
            foreach (var member in _setAfter)
            {
                if (present[member.Key])
                {
                    member.Set(result, values[member.Key]);
                }
            }

            return (T)result;
        }

        private static Member[]? Match(ParameterInfo[] parameters, Member[] members)
        {
            if (parameters.Length > members.Length)
            {
                return null;
            }

            for (var i = 0; i < parameters.Length; i++)
            {
                if (!parameters[i].ParameterType.IsAssignableFrom(members[i].Type))
                {
                    return null;
                }
            }

            return members[..parameters.Length];
        }
    }
}
