using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.CompilerServices;
using MessagePack;
using MessagePack.Formatters;
using MessagePack.ImmutableCollection;
using MessagePack.Resolvers;
using ProtoSwarm.Contracts.ContractFormatters;

namespace ProtoSwarm.Contracts;

/// <summary>
/// The resolver of <see cref="ContractRegistry.Options"/>: every [MessagePackObject] type through the formatter
/// ProtoSwarm.Contracts.Generator wrote for it at build time, everything else through MessagePack's built-in
/// resolvers, none of which emits code. MessagePack's DynamicObjectResolver is deliberately absent: it emitted and
/// JIT-compiled a formatter per contract on first use (~26 ms each for ServiceObject and TaskObject), and a contract
/// without a generated formatter must fail loudly (FormatterNotRegisteredException), not fall back to it.
/// </summary>
public sealed class ContractResolver : IFormatterResolver
{
    public static readonly ContractResolver Instance = new();

    private static readonly ConcurrentDictionary<Assembly, IFormatterResolver?> AssemblyResolvers = new();

    private ContractResolver()
    {
    }

    public IMessagePackFormatter<T>? GetFormatter<T>() => Cache<T>.Formatter;

    /// <summary>
    /// The generated resolver of a contract's own assembly (Raft's, Persistence's, the store's...), which that
    /// assembly's module initializer (generated with it) leaves in AppContext under <see cref="GeneratedResolverName.AppContextKey"/>:
    /// this assembly cannot reference the ones above it, and a NativeAOT binary cannot look a type up by name. A JIT
    /// runs a module's initializer when the module's code first runs, so it is run here if the module's has not yet.
    /// </summary>
    public static IFormatterResolver? GeneratedResolverOf(Assembly assembly) =>
        AssemblyResolvers.GetOrAdd(assembly, static a =>
        {
            var key = GeneratedResolverName.AppContextKey(a.GetName().Name ?? string.Empty);
            if (AppContext.GetData(key) is IFormatterResolver registered)
            {
                return registered;
            }

            RuntimeHelpers.RunModuleConstructor(a.ManifestModule.ModuleHandle);
            return AppContext.GetData(key) as IFormatterResolver;
        });

    private static class Cache<T>
    {
        public static readonly IMessagePackFormatter<T>? Formatter = Create();

        private static IMessagePackFormatter<T>? Create()
        {
            var type = typeof(T);
            if (type.IsDefined(typeof(MessagePackObjectAttribute), inherit: false))
            {
                return GeneratedContractResolver.Instance.GetFormatter<T>()
                    ?? GeneratedResolverOf(type.Assembly)?.GetFormatter<T>();
            }

            // Collections, nullables, enums, times: generic formatters of MessagePack's own, made from templates.
            return BuiltinResolver.Instance.GetFormatter<T>()
                ?? ImmutableCollectionResolver.Instance.GetFormatter<T>()
                ?? DynamicGenericResolver.Instance.GetFormatter<T>();
        }
    }
}
