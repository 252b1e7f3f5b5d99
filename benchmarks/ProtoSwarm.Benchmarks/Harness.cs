using System.Diagnostics;
using System.Globalization;

namespace ProtoSwarm.Benchmarks;

/// <summary>Runs a workload with N concurrent callers for a fixed time and reports rate and latency.</summary>
public static class Harness
{
    public sealed record Result(string Name, int Concurrency, long Operations, double Seconds, double P50Ms, double P99Ms)
    {
        public double PerSecond => Operations / Seconds;
    }

    public static async Task<Result> RunAsync(string name, int concurrency, TimeSpan duration, Func<Task> operation, TimeSpan? warmup = null)
    {
        await RunLoopsAsync(concurrency, warmup ?? TimeSpan.FromSeconds(1), operation, null);
        var latencies = new List<double>[concurrency];
        var sw = Stopwatch.StartNew();
        var ops = await RunLoopsAsync(concurrency, duration, operation, latencies);
        var seconds = sw.Elapsed.TotalSeconds;
        var all = latencies.SelectMany(l => l).Order().ToArray();
        return new Result(name, concurrency, ops, seconds, Percentile(all, 0.50), Percentile(all, 0.99));
    }

    private static async Task<long> RunLoopsAsync(int concurrency, TimeSpan duration, Func<Task> operation, List<double>[]? latencies)
    {
        long total = 0;
        var until = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var loops = Enumerable.Range(0, concurrency).Select(i => Task.Run(async () =>
        {
            var mine = new List<double>();
            if (latencies is not null)
            {
                latencies[i] = mine;
            }

            long count = 0;
            while (Stopwatch.GetTimestamp() < until)
            {
                var start = Stopwatch.GetTimestamp();
                await operation();
                mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                count++;
            }

            Interlocked.Add(ref total, count);
        }));
        await Task.WhenAll(loops);
        return total;
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];

    public static void Print(string title, IReadOnlyList<Result> results, Func<Result, Result?> baselineOf)
    {
        Console.WriteLine();
        Console.WriteLine($"## {title}");
        Console.WriteLine();
        Console.WriteLine("| workload | concurrency | ops/s | p50 ms | p99 ms | vs baseline |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            var baseline = baselineOf(r);
            var ratio = baseline is null || ReferenceEquals(baseline, r) ? "1.00x (baseline)" : $"{r.PerSecond / baseline.PerSecond:0.00}x";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {r.Name} | {r.Concurrency} | {r.PerSecond:N0} | {r.P50Ms:0.000} | {r.P99Ms:0.000} | {ratio} |"));
        }
    }
}
