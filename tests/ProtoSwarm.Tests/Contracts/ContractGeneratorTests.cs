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

    [Fact]
    public void An_Absent_Constructor_Key_Reads_As_The_Parameters_Declared_Default_And_A_Nil_One_As_Nil()
    {
        var (diagnostics, output) = Run(DefaultsSource);
        Assert.Empty(diagnostics);
        using var image = new MemoryStream();
        var emit = output.Emit(image);
        Assert.True(emit.Success, string.Join("\n", emit.Diagnostics));
        // CS1701/CS1702 (MessagePack built against an older System.Memory) are the harness's references, which MSBuild silences too.
        Assert.Empty(emit.Diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning && d.Id is not ("CS1701" or "CS1702")));
        var context = new System.Runtime.Loader.AssemblyLoadContext("GeneratorProbe", isCollectible: true);
        try
        {
            var assembly = context.LoadFromStream(new MemoryStream(image.ToArray()));
            var type = assembly.GetType("Probe.Defaults")!;
            var formatter = assembly.GetType("Probe.ContractFormatters.DefaultsFormatter")!.GetField("Instance")!.GetValue(null)!;
            var options = MessagePackSerializerOptions.Standard.WithResolver(new OneFormatter(type, formatter));

            // An older writer's [name]: every later key absent.
            var old = MessagePackSerializer.Deserialize(type, Elements("n"), options)!;
            object? Get(string name) => type.GetProperty(name)!.GetValue(old);
            Assert.Equal("n", Get("Name"));
            Assert.Equal("say \"hi\"\\ \u00e9\u2603\n\t\0end", Get("Text"));
            Assert.Equal(-7, Get("Count"));
            Assert.Equal(long.MinValue, Get("Big"));
            Assert.Equal(ulong.MaxValue, Get("Huge"));
            Assert.Equal(1.5f, Get("Ratio"));
            Assert.Equal(double.NaN, Get("Nan"));
            Assert.Equal(2.25m, Get("Money"));
            Assert.True((bool)Get("On")!);
            Assert.Equal('\'', Get("Quote"));
            Assert.Equal(5, Get("Maybe"));
            Assert.Null(Get("None"));
            Assert.Equal("C", Get("Kind")!.ToString());
            Assert.Equal("-1", ((System.Enum)Get("Signed")!).ToString("D"));
            Assert.Null(Get("Missing"));
            Assert.Equal(0, Get("Zero"));
            Assert.Equal(9, Get("After"));

            // [name, nil]: the key is present, so the writer's nil stands.
            var nil = MessagePackSerializer.Deserialize(type, Elements("n", null), options)!;
            Assert.Null(type.GetProperty("Text")!.GetValue(nil));
        }
        finally
        {
            context.Unload();
        }
    }

    private const string DefaultsSource = """
        using MessagePack;

        namespace Probe;

        public enum Kind { A, B, C }

        public enum Signed : short { Minus = -1, Zero = 0 }

        [MessagePackObject]
        public sealed record Defaults(
            [property: Key(0)] string Name,
            [property: Key(1)] string Text = "say \"hi\"\\ \u00e9\u2603\n\t\0end",
            [property: Key(2)] int Count = -7,
            [property: Key(3)] long Big = long.MinValue,
            [property: Key(4)] ulong Huge = ulong.MaxValue,
            [property: Key(5)] float Ratio = 1.5f,
            [property: Key(6)] double Nan = double.NaN,
            [property: Key(7)] decimal Money = 2.25m,
            [property: Key(8)] bool On = true,
            [property: Key(9)] char Quote = '\'',
            [property: Key(10)] int? Maybe = 5,
            [property: Key(11)] int? None = null,
            [property: Key(12)] Kind Kind = Kind.C,
            [property: Key(13)] Signed Signed = Signed.Minus,
            [property: Key(14)] string? Missing = null,
            [property: Key(15)] int Zero = default)
        {
            [Key(16)]
            public int After { get; set; } = 9;
        }
        """;

    /// <summary>A MessagePack array of strings, nil for null.</summary>
    private static byte[] Elements(params string?[] elements)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(elements.Length);
        foreach (var element in elements)
        {
            writer.Write(element);
        }

        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The generated formatter of a type loaded at test time, and MessagePack's standard ones for the rest.</summary>
    private sealed class OneFormatter(Type type, object formatter) : IFormatterResolver
    {
        public MessagePack.Formatters.IMessagePackFormatter<T>? GetFormatter<T>() =>
            typeof(T) == type ? (MessagePack.Formatters.IMessagePackFormatter<T>)formatter : MessagePack.Resolvers.StandardResolver.Instance.GetFormatter<T>();
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
