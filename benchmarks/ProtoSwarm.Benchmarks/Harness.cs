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
        var latencies = NewLatencies(concurrency);
        var sw = Stopwatch.StartNew();
        var ops = await RunLoopsAsync(concurrency, duration, operation, latencies);
        return ToResult(name, concurrency, ops, sw.Elapsed.TotalSeconds, latencies);
    }

    /// <summary>
    /// Several workloads measured in turns of <paramref name="slice"/> (ABBA order), each for
    /// <paramref name="duration"/> in all: on a shared machine a burst of someone else's load then falls on
    /// all of them alike instead of on whichever row it happened to hit.
    /// </summary>
    public static async Task<List<Result>> RunInterleavedAsync(int concurrency, TimeSpan duration, TimeSpan slice, params (string Name, Func<Task> Operation)[] workloads)
    {
        foreach (var (_, operation) in workloads)
        {
            await RunLoopsAsync(concurrency, TimeSpan.FromSeconds(1), operation, null);
        }

        var latencies = workloads.Select(_ => NewLatencies(concurrency)).ToArray();
        var ops = new long[workloads.Length];
        var seconds = new double[workloads.Length];
        var turns = Math.Max(1, (int)Math.Round(duration / slice));
        for (var turn = 0; turn < turns; turn++)
        {
            var order = Enumerable.Range(0, workloads.Length);
            foreach (var i in turn % 2 == 0 ? order : order.Reverse())
            {
                var sw = Stopwatch.StartNew();
                ops[i] += await RunLoopsAsync(concurrency, duration / turns, workloads[i].Operation, latencies[i]);
                seconds[i] += sw.Elapsed.TotalSeconds;
            }
        }

        return [.. workloads.Select((w, i) => ToResult(w.Name, concurrency, ops[i], seconds[i], latencies[i]))];
    }

    /// <summary>A row from latencies measured one at a time: its rate is one over their mean.</summary>
    public static Result FromSamples(string name, int concurrency, IReadOnlyCollection<double> latenciesMs)
    {
        var sorted = latenciesMs.Order().ToArray();
        return new Result(name, concurrency, sorted.Length, sorted.Sum() / 1000, Percentile(sorted, 0.50), Percentile(sorted, 0.99));
    }

    /// <summary>A row from a batch of <paramref name="latenciesMs"/>.Count operations run with <paramref name="concurrency"/>
    /// callers: its rate is the count over the batch's wall time.</summary>
    public static Result FromBatch(string name, int concurrency, double seconds, IReadOnlyCollection<double> latenciesMs)
    {
        var sorted = latenciesMs.Order().ToArray();
        return new Result(name, concurrency, sorted.Length, seconds, Percentile(sorted, 0.50), Percentile(sorted, 0.99));
    }

    private static List<double>[] NewLatencies(int concurrency) => [.. Enumerable.Range(0, concurrency).Select(_ => new List<double>())];

    private static Result ToResult(string name, int concurrency, long ops, double seconds, List<double>[] latencies)
    {
        var all = latencies.SelectMany(l => l).Order().ToArray();
        return new Result(name, concurrency, ops, seconds, Percentile(all, 0.50), Percentile(all, 0.99));
    }

    private static async Task<long> RunLoopsAsync(int concurrency, TimeSpan duration, Func<Task> operation, List<double>[]? latencies)
    {
        long total = 0;
        var until = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var loops = Enumerable.Range(0, concurrency).Select(i => Task.Run(async () =>
        {
            var mine = latencies?[i] ?? [];

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
