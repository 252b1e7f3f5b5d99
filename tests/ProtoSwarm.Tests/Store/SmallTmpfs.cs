namespace ProtoSwarm.Tests.Store;

/// <summary>
/// A tmpfs of the test's own (root only), mounted on a directory under a <see cref="TempDir"/>, to fill up: a full disk
/// without touching the machine's. Unmounted and removed on dispose.
/// </summary>
internal sealed class SmallTmpfs : IDisposable
{
    private readonly TempDir _dir = new();

    public SmallTmpfs(string size)
    {
        Path = _dir.File("fs");
        Directory.CreateDirectory(Path);
        Run("mount", "-t", "tmpfs", "-o", $"size={size}", "tmpfs", Path);
    }

    public string Path { get; }

    private string Filler => System.IO.Path.Combine(Path, "filler");

    /// <summary>Takes every free block of the file system.</summary>
    public void Fill()
    {
        using var filler = new FileStream(Filler, FileMode.Create);
        var block = new byte[4096];
        try
        {
            while (true)
            {
                filler.Write(block);
                filler.Flush();
            }
        }
        catch (IOException)
        {
            // ENOSPC: full.
        }
    }

    /// <summary>Gives back what <see cref="Fill"/> took.</summary>
    public void Free() => File.Delete(Filler);

    public void Dispose()
    {
        Run("umount", "-l", Path);
        _dir.Dispose();
    }

    private static void Run(string command, params string[] args)
    {
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(command, args) { RedirectStandardError = true })!;
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{command} {string.Join(' ', args)}: {process.StandardError.ReadToEnd()}");
    }
}
