using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace ProtoSwarm.Contracts.Generator;

/// <summary>
/// One contract's generated formatter, or why there is none. Plain strings and values only, so the incremental
/// pipeline can compare two runs and skip the output when nothing changed (symbols would pin a compilation).
/// </summary>
internal sealed class ContractResult : IEquatable<ContractResult>
{
    public ContractResult(string typeName, string formatterName, string hintName, string? source, ImmutableArray<DiagnosticInfo> diagnostics)
    {
        TypeName = typeName;
        FormatterName = formatterName;
        HintName = hintName;
        Source = source;
        Diagnostics = diagnostics;
    }

    /// <summary>The contract, fully qualified (global::...).</summary>
    public string TypeName { get; }

    /// <summary>The generated formatter, fully qualified.</summary>
    public string FormatterName { get; }

    public string HintName { get; }

    /// <summary>Null when a diagnostic refused the type.</summary>
    public string? Source { get; }

    public ImmutableArray<DiagnosticInfo> Diagnostics { get; }

    public bool Equals(ContractResult? other) =>
        other is not null
        && TypeName == other.TypeName
        && FormatterName == other.FormatterName
        && HintName == other.HintName
        && Source == other.Source
        && Diagnostics.SequenceEqual(other.Diagnostics);

    public override bool Equals(object? obj) => Equals(obj as ContractResult);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(TypeName) ^ (Source is null ? 0 : StringComparer.Ordinal.GetHashCode(Source));
}

/// <summary>A diagnostic without its symbols: the descriptor, the message arguments and where it points.</summary>
internal sealed class DiagnosticInfo : IEquatable<DiagnosticInfo>
{
    private readonly string[] _arguments;

    public DiagnosticInfo(DiagnosticDescriptor descriptor, Location? location, params string[] arguments)
    {
        Descriptor = descriptor;
        _arguments = arguments;
        if (location is { IsInSource: true })
        {
            FilePath = location.SourceTree?.FilePath;
            Span = location.SourceSpan;
            LineSpan = location.GetLineSpan().Span;
        }
    }

    public DiagnosticDescriptor Descriptor { get; }

    public string? FilePath { get; }

    public TextSpan Span { get; }

    public LinePositionSpan LineSpan { get; }

    public Diagnostic ToDiagnostic()
    {
        var location = FilePath is null ? Location.None : Location.Create(FilePath, Span, LineSpan);
        return Diagnostic.Create(Descriptor, location, _arguments);
    }

    public bool Equals(DiagnosticInfo? other) =>
        other is not null
        && Descriptor.Id == other.Descriptor.Id
        && FilePath == other.FilePath
        && Span == other.Span
        && _arguments.SequenceEqual(other._arguments);

    public override bool Equals(object? obj) => Equals(obj as DiagnosticInfo);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Descriptor.Id) ^ Span.GetHashCode();
}
