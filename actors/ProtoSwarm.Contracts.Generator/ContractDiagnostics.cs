using Microsoft.CodeAnalysis;

namespace ProtoSwarm.Contracts.Generator;

/// <summary>
/// Why a contract gets no generated formatter. Each is an error: a contract the generator cannot write would
/// otherwise fall back to MessagePack's emitting resolver at run time, which is what the generator removes.
/// </summary>
internal static class ContractDiagnostics
{
    private const string Category = "ProtoSwarm.Contracts";

    public static readonly DiagnosticDescriptor StringKey = new(
        "PSG001", "Contract key is not an integer",
        "{0}.{1}: [Key({2})] is a string key; generated formatters write integer keys only (array layout). Use [Key(n)].",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor UnsupportedMemberType = new(
        "PSG002", "Contract member type has no formatter",
        "{0}.{1}: type {2} is not supported by the generated formatters ({3})",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor NoConstructor = new(
        "PSG003", "No constructor matches the keyed members",
        "{0}: no public constructor takes the keyed members in key order (parameter i must accept the member with the i-th smallest key)",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor UnsupportedShape = new(
        "PSG004", "Contract shape not supported",
        "{0}: {1}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor MemberNotWritable = new(
        "PSG005", "Keyed member outside the constructor cannot be set",
        "{0}.{1}: the member is not a constructor parameter and has an init-only setter, which generated code cannot call after construction. Make it a constructor parameter.",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor UnmarkedMember = new(
        "PSG006", "Public member without [Key] or [IgnoreMember]",
        "{0}.{1}: a public member of a [MessagePackObject] needs [Key(n)] or [IgnoreMember] (MessagePack's own resolver refuses the type otherwise)",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);
}
