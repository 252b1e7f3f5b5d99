namespace ProtoSwarm.Persistence.Sealing;

/// <summary>Writes key files root-only and atomically: a reader sees the old file or the new one, whole.</summary>
internal static class KeyFiles
{
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public static void WriteAtomically(string path, ReadOnlySpan<byte> bytes)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory, OwnerOnlyDirectory);
        var temporary = $"{path}.{Environment.ProcessId}.tmp";
        using (var stream = new FileStream(temporary, new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = OwnerOnlyFile,
        }))
        {
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }

        // UnixCreateMode is masked by the umask and ignored for an existing file; set it outright.
        File.SetUnixFileMode(temporary, OwnerOnlyFile);
        File.Move(temporary, path, overwrite: true);
    }
}
