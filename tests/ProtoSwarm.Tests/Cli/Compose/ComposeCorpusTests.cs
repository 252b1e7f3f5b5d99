using ProtoSwarm.Cli.Compose;

namespace ProtoSwarm.Tests.Cli.Compose;

/// <summary>
/// The corpus: every file under valid/ loads without an error; every file under invalid/ gives
/// exactly the error lines of the .expected file beside it (positions relative to invalid/).
/// </summary>
public class ComposeCorpusTests
{
    public static readonly string Corpus = Path.Combine(AppContext.BaseDirectory, "Cli", "Compose", "corpus");

    public static readonly IReadOnlyDictionary<string, string> Environment = new Dictionary<string, string>
    {
        ["HOME"] = "/home/ann",
        ["TAG"] = "1.2",
    };

    public static TheoryData<string> Valid() => [.. Directory.GetFiles(Path.Combine(Corpus, "valid"), "*.yml").Select(f => Path.GetFileName(f)).Order()];

    public static TheoryData<string> Invalid() => [.. Directory.GetFiles(Path.Combine(Corpus, "invalid"), "*.yml").Select(f => Path.GetFileName(f)).Order()];

    [Fact]
    public void The_Corpus_Has_At_Least_Twenty_Invalid_Cases_Each_With_Its_Expected_Errors()
    {
        var invalid = Directory.GetFiles(Path.Combine(Corpus, "invalid"), "*.yml");

        Assert.True(invalid.Length >= 20, $"{invalid.Length} invalid cases");
        Assert.All(invalid, file => Assert.True(File.Exists(Path.ChangeExtension(file, ".expected")), $"{file} has no .expected"));
    }

    [Theory]
    [MemberData(nameof(Valid))]
    public void Valid_Files_Load_Without_Errors(string file)
    {
        var result = ComposeLoader.Load([Path.Combine(Corpus, "valid", file)], "demo", Environment);

        Assert.Empty(result.Errors.Select(e => e.ToString()));
        Assert.True(result.IsValid);
    }

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Invalid_Files_Give_Every_Expected_Error_With_Its_Position(string file)
    {
        var directory = Path.Combine(Corpus, "invalid");
        var result = ComposeLoader.Load([Path.Combine(directory, file)], "demo", Environment);

        var expected = File.ReadAllLines(Path.Combine(directory, Path.ChangeExtension(file, ".expected"))).Where(l => l.Length > 0);
        var actual = result.Errors.Select(e => e.ToString().Replace(directory + "/", "", StringComparison.Ordinal));
        Assert.Equal(expected, actual);
        Assert.False(result.IsValid);
        Assert.Null(result.Stack);
    }
}
