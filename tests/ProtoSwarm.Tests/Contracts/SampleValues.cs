using System.Collections.Immutable;
using System.Reflection;

namespace ProtoSwarm.Tests.Contracts;

/// <summary>
/// Builds an instance of a contract type with a distinct, non-default value in every constructor
/// parameter, so a field the serializer drops or mixes up shows in the round trip. A parameter
/// type it does not know fails the test: a new kind of field needs a sample here first.
/// </summary>
internal sealed class SampleValues
{
    private int _next = 1;

    public object Build(Type type)
    {
        var seed = _next++;
        if (Nullable.GetUnderlyingType(type) is { } underlying)
        {
            return Build(underlying);
        }

        if (type == typeof(string))
        {
            return $"s{seed}";
        }

        if (type == typeof(int))
        {
            return seed;
        }

        if (type == typeof(long))
        {
            return 10_000_000_000L + seed;
        }

        if (type == typeof(uint))
        {
            return 4_000_000u + (uint)seed;
        }

        if (type == typeof(ulong))
        {
            return 20_000_000_000UL + (ulong)seed;
        }

        if (type == typeof(double))
        {
            return seed / 1024.0;
        }

        if (type == typeof(TimeSpan))
        {
            return TimeSpan.FromMilliseconds(1_000 + seed);
        }

        if (type == typeof(bool))
        {
            return true;
        }

        if (type == typeof(byte[]))
        {
            return new byte[] { 1, 2, (byte)seed };
        }

        if (type == typeof(DateTimeOffset))
        {
            return new DateTimeOffset(2024, 5, 6, 7, 8, 9, TimeSpan.FromHours(2)).AddTicks(seed);
        }

        if (type.IsEnum)
        {
            // The last value: never the default 0 when the enum has more than one.
            var values = Enum.GetValues(type);
            return values.GetValue(values.Length - 1)!;
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(ImmutableArray<>))
        {
            var element = type.GetGenericArguments()[0];
            var items = Array.CreateInstance(element, 2);
            items.SetValue(Build(element), 0);
            items.SetValue(Build(element), 1);
            var create = typeof(ImmutableArray).GetMethods()
                .Single(m => m.Name == nameof(ImmutableArray.Create) && m.GetParameters() is [{ ParameterType.IsArray: true }])
                .MakeGenericMethod(element);
            return create.Invoke(null, [items])!;
        }

        if (type == typeof(ImmutableSortedDictionary<string, string>))
        {
            return ImmutableSortedDictionary<string, string>.Empty
                .Add($"k{seed}", $"v{seed}")
                .Add($"k{seed}b", $"v{seed}b");
        }

        if (type == typeof(ImmutableSortedDictionary<string, long>))
        {
            return ImmutableSortedDictionary<string, long>.Empty
                .Add($"k{seed}", 30_000_000_000L + seed)
                .Add($"k{seed}b", 40_000_000_000L + seed);
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(ImmutableSortedDictionary<,>) && type.GetGenericArguments()[0] == typeof(string))
        {
            // Any other value type (a repository's manifests): two entries built like every other sample.
            var value = type.GetGenericArguments()[1];
            var builder = typeof(ImmutableSortedDictionary).GetMethods()
                .Single(m => m.Name == nameof(ImmutableSortedDictionary.CreateBuilder) && m.GetParameters().Length == 0)
                .MakeGenericMethod(typeof(string), value)
                .Invoke(null, null)!;
            var add = builder.GetType().GetMethod("Add", [typeof(string), value])!;
            add.Invoke(builder, [$"k{seed}", Build(value)]);
            add.Invoke(builder, [$"k{seed}b", Build(value)]);
            return builder.GetType().GetMethod("ToImmutable")!.Invoke(builder, null)!;
        }

        if ((type.IsClass || type.IsValueType) && type.GetConstructors() is { Length: > 0 } constructors)
        {
            var constructor = constructors.MaxBy(c => c.GetParameters().Length)!;
            var args = constructor.GetParameters().Select(p => Build(p.ParameterType)).ToArray();
            return constructor.Invoke(args);
        }

        throw new NotSupportedException($"No sample value for {type}; teach {nameof(SampleValues)} this type.");
    }

    /// <summary>The constructor parameters of a contract, for checking none was left at its default.</summary>
    public static IEnumerable<PropertyInfo> DataProperties(Type type) =>
        type.GetProperties().Where(p => p.GetCustomAttribute<MessagePack.KeyAttribute>() is not null);
}
