using System.Diagnostics;
using System.Globalization;
using System.Text;
using ProtoSwarm.Containers.Runtime;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Benchmarks;

/// <summary>
/// `service logs` of one task on its node, without a swarm: `seq 1 N` written as the monitor writes it (one F record a
/// line, container.log renamed to .1 past max-size, 2 files kept), then read in pages as the task actor does (a read
/// of <see cref="TaskLogPaging.ReadLimit"/> lines after the cursor, cut by <see cref="TaskLogPaging.Page"/>, the next
/// cursor its last line). Rows: one whole read; the pages each read from the oldest file's first byte (as every page
/// did before <see cref="ContainerLogReader"/>: the same parse, O(n²) in pages); the pages through one reader.
/// </summary>
public static class LogPagingBenchmark
{
    public sealed record Row(string Name, int Lines, int Pages, TimeSpan Elapsed);

    public static IReadOnlyList<Row> Run(int lines, long maxSizeBytes)
    {
        var dir = Path.Combine(Path.GetTempPath(), "protoswarm-log-paging-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            Write(dir, lines, maxSizeBytes);
            var limit = TaskLogPaging.ReadLimit(TaskLogPaging.DefaultPageBytes);
            var watch = Stopwatch.StartNew();
            var whole = ContainerLog.Read(dir).Count;
            var wholeTime = watch.Elapsed;
            watch.Restart();
            var fresh = Paged(lines, after => ContainerLog.Read(dir, after, null, limit));
            var freshTime = watch.Elapsed;
            watch.Restart();
            var reader = new ContainerLogReader(dir);
            var resumed = Paged(lines, after => reader.Read(after, null, limit));
            var resumedTime = watch.Elapsed;
            return
            [
                new Row("one whole read", whole, 1, wholeTime),
                new Row("pages, each read from the oldest file (before)", fresh.Lines, fresh.Pages, freshTime),
                new Row("pages through one ContainerLogReader (now)", resumed.Lines, resumed.Pages, resumedTime),
            ];
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    public static void Print(int lines, long maxSizeBytes, IReadOnlyList<Row> rows)
    {
        Console.WriteLine();
        Console.WriteLine($"## Task log paging: `seq 1 {lines}` in 1 MiB pages, {maxSizeBytes / (1024 * 1024)} MiB files");
        Console.WriteLine();
        Console.WriteLine("| read | lines | pages | seconds |");
        Console.WriteLine("|---|---:|---:|---:|");
        foreach (var row in rows)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {row.Name} | {row.Lines} | {row.Pages} | {row.Elapsed.TotalSeconds:F2} |"));
        }
    }

    private static void Write(string dir, int lines, long maxSizeBytes)
    {
        var path = Path.Combine(dir, ContainerLog.FileName);
        var time = new DateTime(2026, 12, 5, 17, 0, 0, DateTimeKind.Utc);
        var file = new FileStream(path, FileMode.Create);
        for (var i = 1; i <= lines; i++)
        {
            var record = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{i} {time.AddTicks(i * 10L):yyyy-MM-ddTHH:mm:ss.fffffff}00Z stdout F {i}\n"));
            if (file.Length + record.Length > maxSizeBytes)
            {
                file.Dispose();
                File.Move(path, path + ".1", overwrite: true);
                file = new FileStream(path, FileMode.Create);
            }
            file.Write(record);
        }
        file.Dispose();
    }

    // Every line once, in order, or it throws: a fast wrong answer is no answer.
    private static (int Lines, int Pages) Paged(int lines, Func<long, IReadOnlyList<ContainerLogEntry>> read)
    {
        var after = 0L;
        var pages = 0;
        while (true)
        {
            var entries = read(after).Select(e => new TaskLogEntry(e.Sequence, e.Timestamp, LogStream.Stdout, e.Text)).ToList();
            var page = TaskLogPaging.Page("task", entries, after, null, null, TaskLogPaging.DefaultPageBytes);
            pages++;
            foreach (var entry in page.Entries)
            {
                if (entry.Sequence != after + 1 || entry.Line != (after + 1).ToString(CultureInfo.InvariantCulture))
                {
                    throw new InvalidOperationException($"line {entry.Sequence} came after {after}");
                }
                after = entry.Sequence;
            }
            if (!page.More)
            {
                return ((int)after, pages);
            }
        }
    }
}
