using System.Diagnostics;

namespace ProtoSwarm.Benchmarks;

/// <summary>What one durable write costs on this disk right now: the unit group commit saves.</summary>
public static class FsyncProbe
{
    public static double MeanMilliseconds(int writes)
    {
        var path = Path.Combine(Path.GetTempPath(), $"protoswarm-fsync-{Environment.ProcessId}");
        var block = new byte[4096];
        try
        {
            using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.WriteThrough);
            var sw = Stopwatch.StartNew();
            for (var i = 0; i < writes; i++)
            {
                file.Position = 0;
                file.Write(block);
                file.Flush(flushToDisk: true);
            }

            return sw.Elapsed.TotalMilliseconds / writes;
        }
        finally
        {
            File.Delete(path);
        }
    }
}
