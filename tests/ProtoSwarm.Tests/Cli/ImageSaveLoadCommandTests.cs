using System.Collections.Immutable;
using ProtoSwarm.Cli.Commands;
using ProtoSwarm.Cli.Terminal;
using ProtoSwarm.Contracts;
using static ProtoSwarm.Tests.Cli.CliHarness;

namespace ProtoSwarm.Tests.Cli;

/// <summary>`image save` (to a file or standard output), `image load` from standard input, and `image ls`'s filters.</summary>
public sealed class ImageSaveLoadCommandTests
{
    private static readonly DateTimeOffset Day = new(2025, 6, 1, 0, 0, 0, TimeSpan.Zero);

    private static ExecConsole Console(MemoryStream stdout, bool stdinTerminal = false, bool stdoutTerminal = false) =>
        new(() => throw new InvalidOperationException("read through StandardInput"), () => stdout, () => new MemoryStream(), () => stdinTerminal)
        {
            OutputIsTerminal = () => stdoutTerminal,
        };

    private static ImageObject Image(char id, int day, string[] tags, string[]? digests = null, params (string, string)[] labels) => new(
        "sha256:" + new string(id, 64), "sha256:" + new string('m', 64), [.. tags], Day.AddDays(day), 1000, "amd64", "linux",
        [], ["sh"], [], "", "", [], labels.ToImmutableSortedDictionary(l => l.Item1, l => l.Item2), "", null, [],
        [.. digests ?? []]);

    [Fact]
    public async Task Save_To_A_File_Sends_Its_Full_Path_And_The_Images_And_Prints_Nothing()
    {
        var node = new FakeNode(_ => new ImageSaved(1234));

        var (code, output, error) = await RunAsync(node, "image", "save", "-o", "out.tar", "busybox", "app:1");

        Assert.Equal((0, "", ""), (code, output, error));
        var request = Assert.IsType<SaveImage>(Assert.Single(node.Requests));
        Assert.Equal(Path.GetFullPath("out.tar"), request.Path);
        Assert.Equal<string>(["busybox", "app:1"], request.Images);
    }

    [Fact]
    public async Task Save_To_Standard_Output_Streams_The_Nodes_Archive_And_Leaves_No_Temporary_File()
    {
        var archive = Enumerable.Range(0, 300_000).Select(i => (byte)(i * 7)).ToArray();
        string? written = null;
        var node = new FakeNode(request =>
        {
            written = ((SaveImage)request).Path;
            File.WriteAllBytes(written, archive);
            return new ImageSaved(archive.Length);
        });
        using var stdout = new MemoryStream();

        var (code, _, error) = await RunWithConsoleAsync(node, [], Console(stdout), "image", "save", "busybox");

        Assert.True(code == 0, error);
        Assert.Equal(archive, stdout.ToArray());
        Assert.True(Path.IsPathFullyQualified(written!));
        Assert.False(Directory.Exists(Path.GetDirectoryName(written)), "the private temporary directory is removed");
    }

    [Fact]
    public async Task Save_Refuses_To_Write_An_Archive_To_A_Terminal_As_Docker_Does()
    {
        var node = new FakeNode(_ => throw new InvalidOperationException("not asked"));
        using var stdout = new MemoryStream();

        var (code, _, error) = await RunWithConsoleAsync(node, [], Console(stdout, stdoutTerminal: true), "image", "save", "busybox");

        Assert.Equal(1, code);
        Assert.Equal("cowardly refusing to save to a terminal. Use the -o flag or redirect\n", error);
        Assert.Empty(node.Requests);
    }

    [Fact]
    public async Task Save_Shows_The_Nodes_Reason_For_An_Unknown_Image()
    {
        var node = new FakeNode(_ => new CommandRejected(RejectCode.NotFound, "No such image: nope"));

        var (code, _, error) = await RunAsync(node, "image", "save", "-o", "/tmp/x.tar", "nope");

        Assert.Equal(1, code);
        Assert.Contains("No such image: nope", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Load_From_Standard_Input_Hands_The_Node_A_Copy_And_Removes_It_After()
    {
        var archive = Enumerable.Range(0, 100_000).Select(i => (byte)i).ToArray();
        string? path = null;
        byte[]? seen = null;
        var node = new FakeNode(request =>
        {
            path = ((LoadImage)request).Path;
            seen = File.ReadAllBytes(path);
            return new ImageLoaded([Image('a', 0, ["busybox:latest"])]);
        });

        var (code, output, error) = await RunWithConsoleAsync(node, archive, Console(new MemoryStream()), "image", "load");

        Assert.True(code == 0, error);
        Assert.Equal("Loaded image: busybox:latest\n", output);
        Assert.Equal(archive, seen);
        Assert.False(File.Exists(path), "the copy of standard input is removed");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Load_With_Nothing_On_Standard_Input_Says_So_As_Docker_Does(bool terminal)
    {
        var node = new FakeNode(_ => throw new InvalidOperationException("not asked"));

        var (code, _, error) = await RunWithConsoleAsync(node, [], Console(new MemoryStream(), stdinTerminal: terminal), "image", "load");

        Assert.Equal(1, code);
        Assert.Equal("requested load from stdin, but stdin is empty\n", error);
        Assert.Empty(node.Requests);
    }

    private static readonly ImageObject[] Listed =
    [
        Image('a', 0, ["busybox:latest", "busybox:1.36"], ["busybox@sha256:" + new string('d', 64)], ("tier", "base")),
        Image('b', 1, ["myorg/app:1.0", "localhost:5000/app:1.0"], null, ("tier", "app"), ("team", "x")),
        Image('c', 2, [], ["myorg/app@sha256:" + new string('e', 64)]),
        Image('e', 3, []),
    ];

    [Theory]
    [InlineData("reference=busybox", "aaaaaaaaaaaa busybox:1.36,busybox:latest")]
    [InlineData("reference=busybox:1.*", "aaaaaaaaaaaa busybox:1.36")]
    [InlineData("reference=*/app", "cccccccccccc -|bbbbbbbbbbbb localhost:5000/app:1.0,myorg/app:1.0")]
    [InlineData("reference=*app*", "")]
    [InlineData("dangling=true", "eeeeeeeeeeee -|cccccccccccc -")]
    [InlineData("dangling=false", "cccccccccccc -|bbbbbbbbbbbb localhost:5000/app:1.0,myorg/app:1.0|aaaaaaaaaaaa busybox:1.36,busybox:latest")]
    [InlineData("label=tier", "bbbbbbbbbbbb localhost:5000/app:1.0,myorg/app:1.0|aaaaaaaaaaaa busybox:1.36,busybox:latest")]
    [InlineData("label=tier=app", "bbbbbbbbbbbb localhost:5000/app:1.0,myorg/app:1.0")]
    [InlineData("before=myorg/app:1.0", "aaaaaaaaaaaa busybox:1.36,busybox:latest")]
    [InlineData("since=busybox", "eeeeeeeeeeee -|cccccccccccc -|bbbbbbbbbbbb localhost:5000/app:1.0,myorg/app:1.0")]
    [InlineData("until=2025-06-02T12:00:00Z", "bbbbbbbbbbbb localhost:5000/app:1.0,myorg/app:1.0|aaaaaaaaaaaa busybox:1.36,busybox:latest")]
    public void Filters_Keep_What_Dockers_Image_List_Keeps(string filter, string expected)
    {
        var (kept, problem) = ImageFilter.Apply(Listed, [filter], Day.AddDays(10));

        Assert.Null(problem);
        var shown = string.Join("|", kept.OrderByDescending(i => i.Created).Select(i =>
            $"{i.Id[7..19]} {(i.RepoTags.IsEmpty ? "-" : string.Join(",", i.RepoTags.Order(StringComparer.Ordinal)))}"));
        Assert.Equal(expected, shown);
    }

    [Fact]
    public void A_Reference_Filter_Keeps_Only_The_Names_That_Match_And_Values_Of_One_Key_Are_Alternatives()
    {
        var (kept, _) = ImageFilter.Apply(Listed, ["reference=busybox:latest", "reference=myorg/*", "dangling=false"], Day);

        Assert.Equal<string>(["busybox:latest"], kept.Single(i => i.Id.EndsWith('a')).RepoTags);
        // busybox:latest names neither `busybox@sha256:...` nor its name `busybox`: the digest is not kept.
        Assert.Empty(kept.Single(i => i.Id.EndsWith('a')).RepoDigests);
        Assert.Equal<string>(["myorg/app:1.0"], kept.Single(i => i.Id.EndsWith('b')).RepoTags);
        Assert.Equal<string>(["myorg/app@sha256:" + new string('e', 64)], kept.Single(i => i.Id.EndsWith('c')).RepoDigests);
        Assert.Equal(3, kept.Count);
    }

    [Fact]
    public void Before_Or_Since_An_Image_That_Is_Not_Here_Is_No_Such_Image()
    {
        var (_, problem) = ImageFilter.Apply(Listed, ["before=nothing:here"], Day);

        Assert.Equal("No such image: nothing:here", problem);
    }

    [Fact]
    public async Task Ls_Takes_A_Repository_Argument_Filters_And_No_Trunc()
    {
        var node = new FakeNode(_ => new ImageList([.. Listed]));

        var (code, output, error) = await RunAsync(node, "image", "ls", "--no-trunc", "-q", "--filter", "label=tier", "busybox");
        var (allCode, all, _) = await RunAsync(node, "image", "ls", "-a", "--format", "{{.Repository}}:{{.Tag}}", "--filter", "dangling=false");

        Assert.True(code == 0, error);
        Assert.Equal("sha256:" + new string('a', 64) + "\n", output);
        Assert.Equal(0, allCode);
        Assert.Equal("myorg/app:<none>\nlocalhost:5000/app:1.0\nmyorg/app:1.0\nbusybox:1.36\nbusybox:latest\n", all);
    }

    [Theory]
    [InlineData("--filter", "color=red", "'color' is not a filter here")]
    [InlineData("--filter", "dangling=maybe", "use true or false")]
    [InlineData("--filter", "reference=[a-", "the pattern is malformed")]
    [InlineData("--filter", "until=whenever", "give a time")]
    public async Task Ls_Refuses_A_Bad_Filter_Before_Asking_The_Node(string flag, string value, string expected)
    {
        var node = new FakeNode(_ => throw new InvalidOperationException("not asked"));

        var (code, _, error) = await RunAsync(node, "image", "ls", flag, value);

        Assert.Equal(1, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Empty(node.Requests);
    }

    [Theory]
    // Go's own path.Match cases (path/match_test.go's table, in our words).
    [InlineData("abc", "abc", true)]
    [InlineData("*", "abc", true)]
    [InlineData("*c", "abc", true)]
    [InlineData("a*", "a", true)]
    [InlineData("a*", "abc", true)]
    [InlineData("a*", "ab/c", false)]
    [InlineData("a*/b", "abc/b", true)]
    [InlineData("a*/b", "a/c/b", false)]
    [InlineData("a*b*c*d*e*/f", "axbxcxdxe/f", true)]
    [InlineData("a*b*c*d*e*/f", "axbxcxdxexxx/f", true)]
    [InlineData("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false)]
    [InlineData("a*b*c*d*e*/f", "axbxcxdxexxx/fff", false)]
    [InlineData("a*b?c*x", "abxbbxdbxebxczzx", true)]
    [InlineData("a*b?c*x", "abxbbxdbxebxczzy", false)]
    [InlineData("ab[c]", "abc", true)]
    [InlineData("ab[b-d]", "abc", true)]
    [InlineData("ab[e-g]", "abc", false)]
    [InlineData("ab[^c]", "abc", false)]
    [InlineData("ab[^b-d]", "abc", false)]
    [InlineData("ab[^e-g]", "abc", true)]
    [InlineData("a\\*b", "a*b", true)]
    [InlineData("a\\*b", "ab", false)]
    [InlineData("a?b", "a☺b", true)]
    [InlineData("a[^a]b", "a☺b", true)]
    [InlineData("a???b", "a☺b", false)]
    [InlineData("[a-ζ]*", "α", true)]
    [InlineData("*[a-ζ]", "A", false)]
    [InlineData("a?b", "a/b", false)]
    [InlineData("a*b", "a/b", false)]
    [InlineData("[\\]a]", "]", true)]
    [InlineData("[\\-]", "-", true)]
    [InlineData("[x\\-]", "x", true)]
    [InlineData("[x\\-]", "-", true)]
    [InlineData("[x\\-]", "z", false)]
    [InlineData("[\\-x]", "x", true)]
    [InlineData("[\\-x]", "-", true)]
    [InlineData("[\\-x]", "a", false)]
    [InlineData("*x", "xxx", true)]
    public void Path_Match_Agrees_With_Go(string pattern, string name, bool matches)
    {
        Assert.Null(GoPathMatch.Problem(pattern));
        Assert.Equal(matches, GoPathMatch.Matches(pattern, name));
    }

    [Theory]
    [InlineData("[]a]")]
    [InlineData("[-]")]
    [InlineData("[x-]")]
    [InlineData("[-x]")]
    [InlineData("\\")]
    [InlineData("[a-b-c]")]
    [InlineData("[")]
    [InlineData("[^")]
    [InlineData("[^bc")]
    [InlineData("a[")]
    public void Malformed_Patterns_Are_Errors_As_In_Go(string pattern) => Assert.NotNull(GoPathMatch.Problem(pattern));
}
