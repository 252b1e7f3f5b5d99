using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Text;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace ProtoSwarm.Contracts.Generator;

/// <summary>
/// Writes one contract's formatter: the bytes of MessagePack's DynamicObjectResolver for an integer-keyed
/// [MessagePackObject] (an array of max key + 1 elements, nil in the gaps), the constructor it would pick, and
/// reading back with the security's depth step. Members are written by the cheapest exact route: primitives and
/// strings on the writer, enums as their underlying integer, other contracts through their generated formatter
/// (a static call, no resolver), everything else through a formatter of MessagePack's built-in resolvers taken
/// once into a static field.
/// </summary>
internal sealed class ContractEmitter
{
    public const string ObjectAttribute = "MessagePack.MessagePackObjectAttribute";
    private const string KeyAttribute = "MessagePack.KeyAttribute";
    private const string IgnoreAttribute = "MessagePack.IgnoreMemberAttribute";
    private const string SerializationConstructorAttribute = "MessagePack.SerializationConstructorAttribute";
    private const string FormatterAttribute = "MessagePack.MessagePackFormatterAttribute";

    /// <summary>Types MessagePack's BuiltinResolver writes without generated code.</summary>
    private static readonly ImmutableHashSet<string> BuiltinTypes = ImmutableHashSet.Create(
        "System.DateTime", "System.DateTimeOffset", "System.TimeSpan", "System.Guid", "System.Decimal",
        "System.Uri", "System.Version", "System.Numerics.BigInteger", "System.Numerics.Complex");

    /// <summary>
    /// Generic collections that MessagePack's ImmutableCollectionResolver or DynamicGenericResolver formats with its own
    /// generic formatters (no emitted code), and the formatter each resolver makes for it; elements go through the
    /// options' resolver. The generated code makes that formatter itself: the resolvers make it with MakeGenericType,
    /// which a NativeAOT binary (the CLI) can do only for instantiations compiled into it.
    /// GeneratedFormatterTests checks each against the resolvers' own choice.
    /// </summary>
    private static readonly ImmutableDictionary<string, string> GenericCollections = new Dictionary<string, string>
    {
        ["System.Collections.Immutable.ImmutableArray`1"] = "global::MessagePack.ImmutableCollection.ImmutableArrayFormatter",
        ["System.Collections.Immutable.ImmutableList`1"] = "global::MessagePack.ImmutableCollection.ImmutableListFormatter",
        ["System.Collections.Immutable.ImmutableDictionary`2"] = "global::MessagePack.ImmutableCollection.ImmutableDictionaryFormatter",
        ["System.Collections.Immutable.ImmutableSortedDictionary`2"] = "global::MessagePack.ImmutableCollection.ImmutableSortedDictionaryFormatter",
        ["System.Collections.Immutable.ImmutableHashSet`1"] = "global::MessagePack.ImmutableCollection.ImmutableHashSetFormatter",
        ["System.Collections.Immutable.ImmutableSortedSet`1"] = "global::MessagePack.ImmutableCollection.ImmutableSortedSetFormatter",
        ["System.Collections.Generic.List`1"] = "global::MessagePack.Formatters.ListFormatter",
        ["System.Collections.Generic.Dictionary`2"] = "global::MessagePack.Formatters.DictionaryFormatter",
        ["System.Collections.Generic.HashSet`1"] = "global::MessagePack.Formatters.HashSetFormatter",
        ["System.Collections.Generic.SortedDictionary`2"] = "global::MessagePack.Formatters.SortedDictionaryFormatter",
        ["System.Collections.Generic.IList`1"] = "global::MessagePack.Formatters.InterfaceListFormatter2",
        ["System.Collections.Generic.IReadOnlyList`1"] = "global::MessagePack.Formatters.InterfaceReadOnlyListFormatter",
        ["System.Collections.Generic.IReadOnlyCollection`1"] = "global::MessagePack.Formatters.InterfaceReadOnlyCollectionFormatter",
        ["System.Collections.Generic.IDictionary`2"] = "global::MessagePack.Formatters.InterfaceDictionaryFormatter",
        ["System.Collections.Generic.IReadOnlyDictionary`2"] = "global::MessagePack.Formatters.InterfaceReadOnlyDictionaryFormatter",
        ["System.Collections.Generic.KeyValuePair`2"] = "global::MessagePack.Formatters.KeyValuePairFormatter",
    }.ToImmutableDictionary();

    private readonly INamedTypeSymbol _type;
    private readonly Compilation _compilation;
    private readonly string _typeName;
    private readonly List<DiagnosticInfo> _diagnostics = [];
    private readonly List<(string Type, string Name, string Initializer)> _cachedFormatters = [];

    private ContractEmitter(INamedTypeSymbol type, Compilation compilation)
    {
        _type = type;
        _compilation = compilation;
        _typeName = FullName(type);
    }

    /// <summary>The namespace every generated formatter of an assembly's contracts lives in, under the contract's own.</summary>
    public static string FormatterNamespace(INamespaceSymbol ns) =>
        ns.IsGlobalNamespace ? "ContractFormatters" : ns.ToDisplayString() + ".ContractFormatters";

    public static string FormatterName(INamedTypeSymbol type) => "global::" + FormatterMetadataName(type);

    private static string FormatterMetadataName(INamedTypeSymbol type) => FormatterNamespace(type.ContainingNamespace) + "." + type.Name + "Formatter";

    public static ContractResult Build(INamedTypeSymbol type, Compilation compilation, CancellationToken cancellationToken)
    {
        var emitter = new ContractEmitter(type, compilation);
        var source = emitter.Emit(cancellationToken);
        return new ContractResult(
            emitter._typeName,
            FormatterName(type),
            (type.ContainingNamespace.IsGlobalNamespace ? string.Empty : type.ContainingNamespace.ToDisplayString() + ".") + type.Name + "Formatter.g.cs",
            emitter._diagnostics.Count == 0 ? source : null,
            emitter._diagnostics.ToImmutableArray());
    }

    private Location? TypeLocation => _type.Locations.FirstOrDefault();

    /// <summary>This assembly's BuiltinFormatters class, generated beside its resolver.</summary>
    private string BuiltinFormatters => "global::" + GeneratedResolverName.Namespace(_compilation.AssemblyName ?? string.Empty) + ".BuiltinFormatters";

    /// <summary>Each problem once: a member's write and its read both meet an unsupported type.</summary>
    private void Report(DiagnosticDescriptor descriptor, ISymbol? at, params string[] arguments)
    {
        var info = new DiagnosticInfo(descriptor, at?.Locations.FirstOrDefault() ?? TypeLocation, arguments);
        if (!_diagnostics.Contains(info))
        {
            _diagnostics.Add(info);
        }
    }

    private sealed class Member
    {
        public Member(ISymbol symbol, ITypeSymbol type, int key)
        {
            Symbol = symbol;
            Type = type;
            Key = key;
        }

        public ISymbol Symbol { get; }

        public ITypeSymbol Type { get; }

        public int Key { get; }

        public string Name => Identifier(Symbol.Name);

        public string Local => "__" + Symbol.Name;

        public string Present => "__" + Symbol.Name + "_present";
    }

    private string? Emit(CancellationToken cancellationToken)
    {
        if (_type.ContainingType is not null || _type.IsGenericType || _type.TypeKind is not (TypeKind.Class or TypeKind.Struct) || _type.IsAbstract)
        {
            Report(ContractDiagnostics.UnsupportedShape, _type, _type.Name, "only top-level, non-generic, non-abstract classes, records and structs get a generated formatter");
            return null;
        }

        if (_type.DeclaredAccessibility != Accessibility.Public)
        {
            Report(ContractDiagnostics.UnsupportedShape, _type, _type.Name, "a contract must be public (MessagePack's resolver refuses other types too)");
            return null;
        }

        var objectAttribute = _type.GetAttributes().First(a => Is(a, ObjectAttribute));
        if (objectAttribute.ConstructorArguments.Length > 0 && objectAttribute.ConstructorArguments[0].Value is true)
        {
            Report(ContractDiagnostics.UnsupportedShape, _type, _type.Name, "keyAsPropertyName (a map layout) is not supported; use [Key(n)] on each member");
            return null;
        }

        if (HasAttribute(_type, FormatterAttribute))
        {
            Report(ContractDiagnostics.UnsupportedShape, _type, _type.Name, "[MessagePackFormatter] on a contract is not supported");
            return null;
        }

        var members = CollectMembers();
        cancellationToken.ThrowIfCancellationRequested();
        if (_diagnostics.Count > 0)
        {
            return null;
        }

        var (constructor, constructorMembers) = ChooseConstructor(members);
        if (constructor is null && _type.TypeKind != TypeKind.Struct)
        {
            Report(ContractDiagnostics.NoConstructor, _type, _type.Name);
            return null;
        }

        var setAfter = new List<Member>();
        foreach (var member in members.Where(m => !constructorMembers.Contains(m)))
        {
            switch (member.Symbol)
            {
                case IPropertySymbol { SetMethod: { DeclaredAccessibility: Accessibility.Public } setter } when setter.IsInitOnly:
                    Report(ContractDiagnostics.MemberNotWritable, member.Symbol, _type.Name, member.Symbol.Name);
                    break;
                case IPropertySymbol { SetMethod.DeclaredAccessibility: Accessibility.Public }:
                case IFieldSymbol { IsReadOnly: false, IsConst: false }:
                    setAfter.Add(member);
                    break;
                default:
                    // MessagePack's resolver writes such a member and never sets it when reading: the same here.
                    break;
            }
        }

        var writes = new StringBuilder();
        var reads = new StringBuilder();
        var byKey = members.ToDictionary(m => m.Key);
        var length = members.Count == 0 ? 0 : members.Max(m => m.Key) + 1;
        for (var key = 0; key < length; key++)
        {
            if (!byKey.TryGetValue(key, out var member))
            {
                writes.Append("            writer.WriteNil();\n");
                continue;
            }

            var write = WriteCode(member.Type, "value." + member.Name, member);
            var read = ReadCode(member.Type, member);
            if (write is null || read is null)
            {
                continue;
            }

            writes.Append("            ").Append(write).Append('\n');
            reads.Append("                    case ").Append(key).Append(":\n");
            reads.Append("                        ").Append(member.Local).Append(" = ").Append(read).Append(";\n");
            if (setAfter.Contains(member))
            {
                reads.Append("                        ").Append(member.Present).Append(" = true;\n");
            }

            reads.Append("                        break;\n");
        }

        if (_diagnostics.Count > 0)
        {
            return null;
        }

        return Render(members, constructor, constructorMembers, setAfter, length, writes.ToString(), reads.ToString());
    }

    private List<Member> CollectMembers()
    {
        var members = new List<Member>();
        var seen = new HashSet<string>();
        for (var type = _type; type is not null && type.SpecialType != SpecialType.System_Object && type.SpecialType != SpecialType.System_ValueType; type = type.BaseType)
        {
            foreach (var symbol in type.GetMembers())
            {
                if (symbol.IsStatic || symbol.IsImplicitlyDeclared || !seen.Add(symbol.Name))
                {
                    continue;
                }

                ITypeSymbol memberType;
                bool publiclyReadable;
                switch (symbol)
                {
                    case IPropertySymbol { IsIndexer: false } property:
                        memberType = property.Type;
                        publiclyReadable = property.DeclaredAccessibility == Accessibility.Public && property.GetMethod is { DeclaredAccessibility: Accessibility.Public };
                        break;
                    case IFieldSymbol { IsConst: false } field:
                        memberType = field.Type;
                        publiclyReadable = field.DeclaredAccessibility == Accessibility.Public;
                        break;
                    default:
                        continue;
                }

                var attributes = symbol.GetAttributes();
                var key = attributes.FirstOrDefault(a => Is(a, KeyAttribute));
                if (attributes.Any(a => Is(a, IgnoreAttribute)))
                {
                    continue;
                }

                if (key is null)
                {
                    if (publiclyReadable || symbol.DeclaredAccessibility == Accessibility.Public)
                    {
                        Report(ContractDiagnostics.UnmarkedMember, symbol, _type.Name, symbol.Name);
                    }

                    continue;
                }

                var argument = key.ConstructorArguments.FirstOrDefault();
                if (argument.Value is not int intKey)
                {
                    Report(ContractDiagnostics.StringKey, symbol, _type.Name, symbol.Name, argument.Value?.ToString() ?? "null");
                    continue;
                }

                if (!publiclyReadable)
                {
                    Report(ContractDiagnostics.UnsupportedShape, symbol, _type.Name, $"member {symbol.Name} has [Key] but is not publicly readable");
                    continue;
                }

                if (attributes.Any(a => Is(a, FormatterAttribute)))
                {
                    Report(ContractDiagnostics.UnsupportedShape, symbol, _type.Name, $"member {symbol.Name}: [MessagePackFormatter] on a member is not supported");
                    continue;
                }

                if (members.Any(m => m.Key == intKey))
                {
                    Report(ContractDiagnostics.UnsupportedShape, symbol, _type.Name, $"key {intKey} is used twice");
                    continue;
                }

                members.Add(new Member(symbol, memberType, intKey));
            }
        }

        members.Sort((a, b) => a.Key.CompareTo(b.Key));
        return members;
    }

    /// <summary>
    /// MessagePack's choice: among public constructors, most parameters first, the first whose i-th parameter
    /// accepts the member with the i-th smallest key (identity, or an implicit reference or boxing conversion, as
    /// Type.IsAssignableFrom). A struct's implicit parameterless constructor is not in its metadata, so not a candidate.
    /// </summary>
    private (IMethodSymbol? Constructor, List<Member> Members) ChooseConstructor(List<Member> members)
    {
        if (_type.InstanceConstructors.Any(c => HasAttribute(c, SerializationConstructorAttribute)))
        {
            Report(ContractDiagnostics.UnsupportedShape, _type, _type.Name, "[SerializationConstructor] is not supported; the constructor is chosen by its parameters");
            return (null, []);
        }

        var candidates = _type.InstanceConstructors
            .Where(c => c.DeclaredAccessibility == Accessibility.Public && !(_type.TypeKind == TypeKind.Struct && c.Parameters.Length == 0 && c.IsImplicitlyDeclared))
            .OrderByDescending(c => c.Parameters.Length);
        foreach (var constructor in candidates)
        {
            if (constructor.Parameters.Length > members.Count)
            {
                continue;
            }

            var matches = true;
            for (var i = 0; i < constructor.Parameters.Length && matches; i++)
            {
                var conversion = _compilation.ClassifyConversion(members[i].Type, constructor.Parameters[i].Type);
                matches = conversion.IsIdentity || (conversion.IsImplicit && (conversion.IsReference || conversion.IsBoxing));
            }

            if (matches)
            {
                return (constructor, members.Take(constructor.Parameters.Length).ToList());
            }
        }

        return (null, []);
    }

    private string? WriteCode(ITypeSymbol type, string value, Member member)
    {
        if (IsNullableValue(type, out var underlying))
        {
            var inner = WriteCode(underlying, value + ".Value", member);
            return inner is null ? null : $"if ({value}.HasValue) {{ {inner} }} else {{ writer.WriteNil(); }}";
        }

        if (Primitive(type) is not null || IsByteArray(type))
        {
            return $"writer.Write({value});";
        }

        if (type is INamedTypeSymbol { TypeKind: TypeKind.Enum, EnumUnderlyingType: { } enumType })
        {
            return $"writer.Write(({FullName(enumType)}){value});";
        }

        if (IsContract(type))
        {
            return ContractFormatter(type, member) is { } formatter ? $"{formatter}.Write(ref writer, {value}, options);" : null;
        }

        return CachedFormatter(type, member) is { } field ? $"{field}.Serialize(ref writer, {value}, options);" : null;
    }

    private string? ReadCode(ITypeSymbol type, Member member)
    {
        if (IsNullableValue(type, out var underlying))
        {
            var inner = ReadCode(underlying, member);
            return inner is null ? null : $"reader.TryReadNil() ? ({FullName(type)})null : {inner}";
        }

        if (Primitive(type) is { } primitive)
        {
            return $"reader.Read{primitive}()";
        }

        if (IsByteArray(type))
        {
            return BuiltinFormatters + ".ReadBytes(ref reader)";
        }

        if (type is INamedTypeSymbol { TypeKind: TypeKind.Enum, EnumUnderlyingType: { } enumType })
        {
            return $"({FullName(type)})reader.Read{Primitive(enumType)}()";
        }

        if (IsContract(type))
        {
            return ContractFormatter(type, member) is { } formatter ? $"{formatter}.Read(ref reader, options)" : null;
        }

        return CachedFormatter(type, member) is { } field ? $"{field}.Deserialize(ref reader, options)" : null;
    }

    private string? ContractFormatter(ITypeSymbol type, Member member)
    {
        var named = (INamedTypeSymbol)type;
        if (!HasGeneratedFormatter(named))
        {
            Report(ContractDiagnostics.UnsupportedMemberType, member.Symbol, _type.Name, member.Symbol.Name, type.ToDisplayString(),
                $"its assembly {named.ContainingAssembly.Name} has no generated formatter: reference ProtoSwarm.Contracts.Generator there");
            return null;
        }

        return FormatterName(named);
    }

    /// <summary>A contract of this assembly gets its formatter in this run; one of another assembly must have had its own.</summary>
    private bool HasGeneratedFormatter(INamedTypeSymbol contract) =>
        SymbolEqualityComparer.Default.Equals(contract.ContainingAssembly, _compilation.Assembly)
        || _compilation.GetTypeByMetadataName(FormatterMetadataName(contract)) is not null;

    private string? CachedFormatter(ITypeSymbol type, Member member)
    {
        if (!IsSupported(type, out var why))
        {
            Report(ContractDiagnostics.UnsupportedMemberType, member.Symbol, _type.Name, member.Symbol.Name, type.ToDisplayString(), why);
            return null;
        }

        var typeName = FullName(type);
        var existing = _cachedFormatters.FindIndex(f => f.Type == typeName);
        if (existing >= 0)
        {
            return _cachedFormatters[existing].Name;
        }

        var name = "Formatter" + _cachedFormatters.Count;
        var initializer = type is INamedTypeSymbol { IsGenericType: true } named && GenericCollections.TryGetValue(MetadataName(named.OriginalDefinition), out var formatter)
            ? "new " + formatter + "<" + string.Join(", ", named.TypeArguments.Select(FullName)) + ">()"
            : BuiltinFormatters + ".Get<" + typeName + ">()";
        _cachedFormatters.Add((typeName, name, initializer));
        return name;
    }

    /// <summary>Whether MessagePack formats the type with its own code and no emitted IL: every type argument too.</summary>
    private bool IsSupported(ITypeSymbol type, out string why)
    {
        why = string.Empty;
        if (IsNullableValue(type, out var underlying))
        {
            return IsSupported(underlying, out why);
        }

        if (Primitive(type) is not null || IsByteArray(type) || type.TypeKind == TypeKind.Enum)
        {
            return true;
        }

        if (IsContract(type))
        {
            if (HasGeneratedFormatter((INamedTypeSymbol)type))
            {
                return true;
            }

            why = $"{type.ToDisplayString()}'s assembly has no generated formatter";
            return false;
        }

        if (type is IArrayTypeSymbol array)
        {
            if (array.Rank != 1)
            {
                why = "multi-dimensional arrays are not supported";
                return false;
            }

            return IsSupportedElement(array.ElementType, out why);
        }

        if (type is INamedTypeSymbol named)
        {
            var metadataName = MetadataName(named.OriginalDefinition);
            if (!named.IsGenericType && BuiltinTypes.Contains(metadataName))
            {
                return true;
            }

            if (named.IsGenericType && GenericCollections.ContainsKey(metadataName))
            {
                foreach (var argument in named.TypeArguments)
                {
                    if (!IsSupportedElement(argument, out why))
                    {
                        return false;
                    }
                }

                return true;
            }
        }

        why = "not a primitive, enum, contract, built-in type or known collection; MessagePack would emit code for it";
        return false;
    }

    /// <summary>
    /// An element of a collection or array member. Its formatter is not made by the generated code but asked of the
    /// options' resolver each time the collection is written or read, and for an enum, a nullable, an array or another
    /// collection that is MessagePack's DynamicGenericResolver, which makes it with MakeGenericType: a NativeAOT binary
    /// (the CLI) can do that only for instantiations compiled into it, so the failure would come at run time, in the
    /// CLI only. Such an element is refused here, at build time, with the way out.
    /// </summary>
    private bool IsSupportedElement(ITypeSymbol type, out string why)
    {
        if (!IsSupported(type, out why))
        {
            return false;
        }

        if (Primitive(type) is not null || IsByteArray(type) || IsContract(type)
            || (type is INamedTypeSymbol { IsGenericType: false } named && BuiltinTypes.Contains(MetadataName(named))))
        {
            return true;
        }

        why = $"{type.ToDisplayString()} inside a collection or array would be formatted with MakeGenericType at run time, "
            + "which the NativeAOT CLI cannot do; make the element a [MessagePackObject] contract that holds it";
        return false;
    }

    private static string MetadataName(INamedTypeSymbol type) =>
        type.ContainingNamespace.IsGlobalNamespace ? type.MetadataName : type.ContainingNamespace.ToDisplayString() + "." + type.MetadataName;

    private static bool IsContract(ITypeSymbol type) =>
        type is INamedTypeSymbol { TypeKind: TypeKind.Class or TypeKind.Struct } named
        && HasAttribute(named, ObjectAttribute);

    private static bool HasAttribute(ISymbol symbol, string attribute) => symbol.GetAttributes().Any(a => Is(a, attribute));

    private static bool Is(AttributeData data, string attribute) => data.AttributeClass?.ToDisplayString() == attribute;

    private static bool IsNullableValue(ITypeSymbol type, out ITypeSymbol underlying)
    {
        if (type is INamedTypeSymbol { OriginalDefinition.SpecialType: SpecialType.System_Nullable_T } nullable)
        {
            underlying = nullable.TypeArguments[0];
            return true;
        }

        underlying = type;
        return false;
    }

    private static bool IsByteArray(ITypeSymbol type) =>
        type is IArrayTypeSymbol { Rank: 1, ElementType.SpecialType: SpecialType.System_Byte };

    /// <summary>The MessagePackReader method suffix for a type the writer has an overload for.</summary>
    private static string? Primitive(ITypeSymbol type) => type.SpecialType switch
    {
        SpecialType.System_Boolean => "Boolean",
        SpecialType.System_Char => "Char",
        SpecialType.System_SByte => "SByte",
        SpecialType.System_Byte => "Byte",
        SpecialType.System_Int16 => "Int16",
        SpecialType.System_UInt16 => "UInt16",
        SpecialType.System_Int32 => "Int32",
        SpecialType.System_UInt32 => "UInt32",
        SpecialType.System_Int64 => "Int64",
        SpecialType.System_UInt64 => "UInt64",
        SpecialType.System_Single => "Single",
        SpecialType.System_Double => "Double",
        SpecialType.System_String => "String",
        _ => null,
    };

    /// <summary>
    /// What the constructor gets for a member whose key an older writer's shorter array lacks: the parameter's
    /// declared default (<c>string Token = ""</c> reads as "", not null), or <c>default</c> when it declares none.
    /// MessagePack's emitting resolver passes default(T) there; this is a deliberate difference (docs/ARCHITECTURE.md).
    /// A key that is present, even as nil, overwrites it.
    /// </summary>
    private static string ParameterDefault(IParameterSymbol parameter, ITypeSymbol memberType)
    {
        if (!parameter.HasExplicitDefaultValue || !SymbolEqualityComparer.Default.Equals(parameter.Type, memberType))
        {
            return "default";
        }

        return ConstantExpression(parameter.Type, parameter.ExplicitDefaultValue);
    }

    /// <summary>A C# expression of <paramref name="type"/> for a parameter's default value as Roslyn gives it.</summary>
    private static string ConstantExpression(ITypeSymbol type, object? value)
    {
        if (value is null)
        {
            return type.IsReferenceType || IsNullableValue(type, out _) ? "null" : "default";
        }

        if (IsNullableValue(type, out var underlying))
        {
            return ConstantExpression(underlying, value);
        }

        if (type is INamedTypeSymbol { TypeKind: TypeKind.Enum, EnumUnderlyingType: { } enumType })
        {
            return "(" + FullName(type) + ")(" + ConstantExpression(enumType, value) + ")";
        }

        var invariant = System.Globalization.CultureInfo.InvariantCulture;
        var literal = value switch
        {
            string text => SymbolDisplay.FormatLiteral(text, quote: true),
            char c => SymbolDisplay.FormatLiteral(c, quote: true),
            bool b => b ? "true" : "false",
            float f when float.IsNaN(f) => "global::System.Single.NaN",
            float f when float.IsPositiveInfinity(f) => "global::System.Single.PositiveInfinity",
            float f when float.IsNegativeInfinity(f) => "global::System.Single.NegativeInfinity",
            float f => f.ToString("R", invariant) + "F",
            double d when double.IsNaN(d) => "global::System.Double.NaN",
            double d when double.IsPositiveInfinity(d) => "global::System.Double.PositiveInfinity",
            double d when double.IsNegativeInfinity(d) => "global::System.Double.NegativeInfinity",
            double d => d.ToString("R", invariant) + "D",
            decimal m => m.ToString(invariant) + "M",
            uint u => u.ToString(invariant) + "U",
            long l => l.ToString(invariant) + "L",
            ulong ul => ul.ToString(invariant) + "UL",
            System.IFormattable number => number.ToString(null, invariant),
            _ => null,
        };
        if (literal is null)
        {
            return "default";
        }

        return value is string ? literal : "(" + FullName(type) + ")(" + literal + ")";
    }

    private static string FullName(ITypeSymbol type) =>
        type.WithNullableAnnotation(NullableAnnotation.NotAnnotated).ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);

    private static string Identifier(string name) =>
        SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None ? "@" + name : name;

    private string Render(List<Member> members, IMethodSymbol? constructor, List<Member> constructorMembers, List<Member> setAfter, int length, string writes, string reads)
    {
        var isClass = _type.TypeKind == TypeKind.Class;
        var formatter = _type.Name + "Formatter";
        var s = new StringBuilder();
        s.Append("// <auto-generated/> by ProtoSwarm.Contracts.Generator\n");
        s.Append("#nullable disable\n");
        s.Append("namespace ").Append(FormatterNamespace(_type.ContainingNamespace)).Append("\n{\n");
        s.Append("    /// <summary>The MessagePack formatter of <see cref=\"").Append(_typeName).Append("\"/>, generated at build time.</summary>\n");
        s.Append("    public sealed class ").Append(formatter).Append(" : global::MessagePack.Formatters.IMessagePackFormatter<").Append(_typeName).Append(">\n    {\n");
        s.Append("        public static readonly ").Append(formatter).Append(" Instance = new ").Append(formatter).Append("();\n\n");
        foreach (var (type, name, initializer) in _cachedFormatters)
        {
            s.Append("        private static readonly global::MessagePack.Formatters.IMessagePackFormatter<").Append(type).Append("> ").Append(name)
                .Append(" = ").Append(initializer).Append(";\n");
        }

        if (_cachedFormatters.Count > 0)
        {
            s.Append('\n');
        }

        s.Append("        public void Serialize(ref global::MessagePack.MessagePackWriter writer, ").Append(_typeName)
            .Append(" value, global::MessagePack.MessagePackSerializerOptions options) => Write(ref writer, value, options);\n\n");
        s.Append("        public ").Append(_typeName)
            .Append(" Deserialize(ref global::MessagePack.MessagePackReader reader, global::MessagePack.MessagePackSerializerOptions options) => Read(ref reader, options);\n\n");

        s.Append("        public static void Write(ref global::MessagePack.MessagePackWriter writer, ").Append(_typeName)
            .Append(" value, global::MessagePack.MessagePackSerializerOptions options)\n        {\n");
        if (isClass)
        {
            s.Append("            if (value is null)\n            {\n                writer.WriteNil();\n                return;\n            }\n\n");
        }

        s.Append("            writer.WriteArrayHeader(").Append(length).Append(");\n");
        s.Append(writes);
        s.Append("        }\n\n");

        s.Append("        public static ").Append(_typeName)
            .Append(" Read(ref global::MessagePack.MessagePackReader reader, global::MessagePack.MessagePackSerializerOptions options)\n        {\n");
        if (isClass)
        {
            s.Append("            if (reader.TryReadNil())\n            {\n                return null;\n            }\n\n");
        }

        s.Append("            options.Security.DepthStep(ref reader);\n");
        foreach (var member in members)
        {
            var index = constructorMembers.IndexOf(member);
            var initial = index < 0 ? "default" : ParameterDefault(constructor!.Parameters[index], member.Type);
            s.Append("            ").Append(FullName(member.Type)).Append(' ').Append(member.Local).Append(" = ").Append(initial).Append(";\n");
            if (setAfter.Contains(member))
            {
                s.Append("            bool ").Append(member.Present).Append(" = false;\n");
            }
        }

        s.Append("            var length = reader.ReadArrayHeader();\n");
        s.Append("            for (var i = 0; i < length; i++)\n            {\n                switch (i)\n                {\n");
        s.Append(reads);
        s.Append("                    default:\n                        reader.Skip();\n                        break;\n                }\n            }\n\n");
        s.Append("            reader.Depth--;\n");
        if (constructor is null)
        {
            s.Append("            var result = default(").Append(_typeName).Append(");\n");
        }
        else
        {
            s.Append("            var result = new ").Append(_typeName).Append('(')
                .Append(string.Join(", ", constructorMembers.Select(m => m.Local))).Append(");\n");
        }

        foreach (var member in setAfter)
        {
            s.Append("            if (").Append(member.Present).Append(")\n            {\n                result.").Append(member.Name)
                .Append(" = ").Append(member.Local).Append(";\n            }\n");
        }

        s.Append("            return result;\n        }\n    }\n}\n");
        return s.ToString();
    }
}
