using System.Collections.Immutable;
using MessagePack;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using ProtoSwarm.Contracts.Generator;

namespace ProtoSwarm.Tests.Contracts;

/// <summary>
/// The contract generator run on sources of the test's own: what it refuses at build time, and that what it takes
/// compiles. A contract whose formatter would need MakeGenericType at run time must fail the build, not the NativeAOT CLI.
/// </summary>
public sealed class ContractGeneratorTests
{
    [Theory]
    [InlineData("ImmutableArray<Kind>", "Kind inside a collection or array")]
    [InlineData("ImmutableArray<ImmutableArray<string>>", "ImmutableArray<string> inside a collection or array")]
    [InlineData("ImmutableSortedDictionary<string, Kind>", "Kind inside a collection or array")]
    [InlineData("ImmutableArray<int?>", "int? inside a collection or array")]
    [InlineData("Kind[]", "Kind inside a collection or array")]
    [InlineData("ImmutableArray<string[]>", "string[] inside a collection or array")]
    public void An_Element_That_Needs_MakeGenericType_Is_Refused_At_Build_Time_With_The_Way_Out(string memberType, string expected)
    {
        var (diagnostics, _) = Run(Source(memberType));

        var error = Assert.Single(diagnostics, d => d.Id == "PSG002");
        Assert.Equal(DiagnosticSeverity.Error, error.Severity);
        var message = error.GetMessage(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains("Probe.Items", message, StringComparison.Ordinal);
        Assert.Contains(expected, message, StringComparison.Ordinal);
        Assert.Contains("make the element a [MessagePackObject] contract", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ImmutableArray<string>")]
    [InlineData("ImmutableArray<Inner>")]
    [InlineData("ImmutableSortedDictionary<string, Inner>")]
    [InlineData("ImmutableArray<byte[]>")]
    [InlineData("ImmutableArray<System.DateTimeOffset>")]
    [InlineData("Kind")]
    [InlineData("Kind?")]
    [InlineData("Inner[]")]
    public void Elements_Resolved_Without_MakeGenericType_Are_Generated_And_Compile(string memberType)
    {
        var (diagnostics, output) = Run(Source(memberType));

        Assert.DoesNotContain(diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
    }

    private static string Source(string memberType) => $$"""
        using System.Collections.Immutable;
        using MessagePack;

        namespace Probe;

        public enum Kind { A, B }

        [MessagePackObject]
        public sealed record Inner([property: Key(0)] string Name);

        [MessagePackObject]
        public sealed record Probe([property: Key(0)] {{memberType}} Items);
        """;

    private static (ImmutableArray<Diagnostic> Diagnostics, Compilation Output) Run(string source)
    {
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!)
            .Split(Path.PathSeparator)
            .Append(typeof(MessagePackObjectAttribute).Assembly.Location)
            .Append(typeof(MessagePackSerializer).Assembly.Location)
            .Append(typeof(MessagePack.ImmutableCollection.ImmutableCollectionResolver).Assembly.Location)
            .Distinct()
            .Select(path => MetadataReference.CreateFromFile(path));
        var compilation = CSharpCompilation.Create(
            "GeneratorProbe",
            [CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest))],
            references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        CSharpGeneratorDriver.Create(new ContractFormatterGenerator())
            .RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
        return (diagnostics, output);
    }
}
