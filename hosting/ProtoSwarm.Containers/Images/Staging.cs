using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;

namespace ProtoSwarm.Containers.Images;

/// <summary>A file staged from an archive, with the sha256 of its bytes as they came.</summary>
internal sealed record StagedFile(string Path, string Digest, long Size);

/// <summary>
/// An archive's files written under a temporary directory, each hashed on the way in, so both
/// formats are read from disk in any order and nothing reaches the store before all is checked.
/// </summary>
internal sealed class Staging : IDisposable
{
    private readonly Dictionary<string, StagedFile> _files = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _links = new(StringComparer.Ordinal);
    private int _count;

    private Staging(string directory) => Directory = directory;

    public string Directory { get; }

    public IEnumerable<string> Names => _files.Keys.Concat(_links.Keys);

    public static async Task<Staging> ReadAsync(Stream archive, string directory, CancellationToken ct)
    {
        System.IO.Directory.CreateDirectory(directory);
        var staging = new Staging(directory);
        try
        {
            await using var reader = new TarReader(await Decompressed(archive, "the archive", ct), leaveOpen: true);
            while (await Next(reader, ct) is { } entry)
            {
                var name = LayerUnpacker.Clean(entry.Name, "(archive)");
                switch (entry.EntryType)
                {
                    case TarEntryType.RegularFile or TarEntryType.V7RegularFile:
                        var staged = Path.Combine(directory, (staging._count++).ToString(System.Globalization.CultureInfo.InvariantCulture));
                        await using (var file = new FileStream(staged, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true))
                        {
                            var (digest, size) = await CopyHashingAsync(entry.DataStream ?? Stream.Null, file, ct);
                            staging._files[name] = new StagedFile(staged, digest, size);
                        }

                        break;
                    case TarEntryType.SymbolicLink or TarEntryType.HardLink:
                        // docker save links a repeated layer to its first copy.
                        var target = Resolve(entry.EntryType == TarEntryType.HardLink || entry.LinkName.StartsWith('/')
                            ? entry.LinkName
                            : CombineRelative(name, entry.LinkName), entry.Name);
                        staging._links[name] = target;
                        break;
                }
            }

            return staging;
        }
        catch
        {
            staging.Dispose();
            throw;
        }
    }

    public bool Contains(string name) => TryGet(name, out _);

    public bool TryGet(string name, out StagedFile file)
    {
        name = LayerUnpacker.Clean(name, "(archive)");
        for (var hops = 0; hops < 8 && _links.TryGetValue(name, out var target); hops++)
        {
            name = target;
        }

        return _files.TryGetValue(name, out file!);
    }

    public StagedFile Get(string name, string what) =>
        TryGet(name, out var file)
            ? file
            : throw ImageStoreException.Corrupt($"the archive names {what} '{name}' but has no such file; it is incomplete or corrupt");

    public byte[] ReadAll(string name, string what, long limit = 16 << 20)
    {
        var file = Get(name, what);
        if (file.Size > limit)
        {
            throw ImageStoreException.Corrupt($"{what} '{name}' is {file.Size} bytes, more than such a file can be; the archive is corrupt");
        }

        return File.ReadAllBytes(file.Path);
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    /// <summary>The stream uncompressed: gzip is recognised by its magic number; zstd is refused by name.</summary>
    public static async Task<Stream> Decompressed(Stream stream, string what, CancellationToken ct)
    {
        var buffered = stream.CanSeek ? stream : new BufferedStream(stream, 65536);
        var magic = new byte[4];
        var start = buffered.CanSeek ? buffered.Position : 0;
        int read;
        if (buffered.CanSeek)
        {
            read = await buffered.ReadAtLeastAsync(magic, 4, throwOnEndOfStream: false, ct);
            buffered.Position = start;
        }
        else
        {
            // A BufferedStream cannot peek; read through a small wrapper that replays the bytes.
            read = await buffered.ReadAtLeastAsync(magic, 4, throwOnEndOfStream: false, ct);
            buffered = new PrefixedStream(magic.AsMemory(0, read), buffered);
        }

        if (read >= 2 && magic[0] == 0x1f && magic[1] == 0x8b)
        {
            return new GZipStream(buffered, CompressionMode.Decompress, leaveOpen: true);
        }

        if (read >= 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
        {
            throw ImageStoreException.Corrupt($"{what} is compressed with zstd, which this node does not read; save it uncompressed or with gzip");
        }

        return buffered;
    }

    public static async Task<(string Digest, long Size)> CopyHashingAsync(Stream source, Stream destination, CancellationToken ct)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[81920];
        long size = 0;
        int n;
        while ((n = await source.ReadAsync(buffer, ct)) > 0)
        {
            hash.AppendData(buffer, 0, n);
            await destination.WriteAsync(buffer.AsMemory(0, n), ct);
            size += n;
        }

        return ("sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset()), size);
    }

    private static async Task<TarEntry?> Next(TarReader reader, CancellationToken ct)
    {
        try
        {
            return await reader.GetNextEntryAsync(copyData: false, ct);
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException or ArgumentException)
        {
            throw ImageStoreException.Corrupt($"the archive is not a readable tar ({e.Message}); give a file made by `docker save` or an OCI image layout packed with tar");
        }
    }

    /// <summary>A link target inside the archive, `..` resolved; one that climbs above the archive's top is refused.</summary>
    private static string Resolve(string path, string entryName)
    {
        var parts = new List<string>();
        foreach (var part in path.Split('/'))
        {
            if (part is "" or ".")
            {
                continue;
            }

            if (part == "..")
            {
                if (parts.Count == 0)
                {
                    throw ImageStoreException.Corrupt($"the archive's link '{entryName}' points outside the archive; it is corrupt or crafted, nothing was stored");
                }

                parts.RemoveAt(parts.Count - 1);
                continue;
            }

            parts.Add(part);
        }

        return string.Join('/', parts);
    }

    private static string CombineRelative(string name, string link)
    {
        var slash = name.LastIndexOf('/');
        return slash < 0 ? link : name[..slash] + "/" + link;
    }

    /// <summary>Replays the bytes read to sniff a format, then reads on.</summary>
    private sealed class PrefixedStream(ReadOnlyMemory<byte> prefix, Stream inner) : ForwardReadStream
    {
        private ReadOnlyMemory<byte> _prefix = prefix;

        public override int Read(Span<byte> buffer)
        {
            if (_prefix.Length > 0)
            {
                var n = Math.Min(buffer.Length, _prefix.Length);
                _prefix.Span[..n].CopyTo(buffer);
                _prefix = _prefix[n..];
                return n;
            }

            return inner.Read(buffer);
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_prefix.Length > 0)
            {
                var n = Math.Min(buffer.Length, _prefix.Length);
                _prefix[..n].CopyTo(buffer);
                _prefix = _prefix[n..];
                return n;
            }

            return await inner.ReadAsync(buffer, cancellationToken);
        }

    }
}
