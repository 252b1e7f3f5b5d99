using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using MessagePack;
using ProtoSwarm.Contracts;
using ProtoSwarm.Raft;
using ProtoSwarm.Tests.Contracts;

namespace ProtoSwarm.Benchmarks;

/// <summary>
/// What a process pays the first time it decodes and encodes a contract: ServiceObject, TaskObject and NodeObject
/// by name, as Proto.Remote and the store do (<see cref="ContractRegistry"/>), and a Raft Message typed, as the Raft
/// actor does. Each run is a new process (<see cref="OnceMode"/>), so every run is a first use; the parent writes
/// the samples' bytes once and reports each run and the medians. Uses only the API the registry had before the
/// generated formatters, so the same file measures either build.
/// </summary>
public static class SerializerFirstUse
{
    public const string OnceMode = "serializer-first-use-once";

    private static readonly string[] Contracts = [nameof(ServiceObject), nameof(TaskObject), nameof(NodeObject)];

    public static async Task<int> RunAsync(int runs)
    {
        var payload = Path.Combine(Path.GetTempPath(), $"serializer-first-use-{Environment.ProcessId}.bin");
        WriteSamples(payload);
        var entry = Assembly.GetEntryAssembly()!.Location;
        var host = Environment.ProcessPath!;
        var viaDotnet = Path.GetFileNameWithoutExtension(host) == "dotnet";
        Console.WriteLine();
        Console.WriteLine($"## Serializer first use, a new process per run ({entry})");
        Console.WriteLine();
        Console.WriteLine("| run | options (ms) | ServiceObject dec+enc (ms) | TaskObject (ms) | NodeObject (ms) | Raft Message (ms) | all four (ms) | CPU in them (ms) | process wall (ms) |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
        var rows = new List<double[]>();
        for (var run = 1; run <= runs; run++)
        {
            var start = Stopwatch.GetTimestamp();
            using var child = Process.Start(new ProcessStartInfo(host, viaDotnet ? [entry, OnceMode, payload] : [OnceMode, payload])
            {
                RedirectStandardOutput = true,
                UseShellExecute = false,
            })!;
            var output = await child.StandardOutput.ReadToEndAsync();
            await child.WaitForExitAsync();
            var wall = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            if (child.ExitCode != 0)
            {
                Console.WriteLine($"| {run} | failed: exit {child.ExitCode} {output.Trim()} |");
                continue;
            }

            var row = output.Trim().Split(' ').Select(s => double.Parse(s, CultureInfo.InvariantCulture)).Append(wall).ToArray();
            rows.Add(row);
            Console.WriteLine($"| {run} | {string.Join(" | ", row.Select(v => v.ToString("0.0", CultureInfo.InvariantCulture)))} |");
        }

        if (rows.Count > 0)
        {
            var medians = Enumerable.Range(0, rows[0].Length).Select(i => Median(rows.Select(r => r[i]))).ToArray();
            Console.WriteLine($"| median | {string.Join(" | ", medians.Select(v => v.ToString("0.0", CultureInfo.InvariantCulture)))} |");
        }

        File.Delete(payload);
        return 0;
    }

    /// <summary>The child: time the first decode + encode of each sample; print one line of milliseconds.</summary>
    public static int RunOnce(string payload)
    {
        var samples = ReadSamples(payload);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var total = Stopwatch.GetTimestamp();

        var start = Stopwatch.GetTimestamp();
        var options = ContractRegistry.Options;
        var timings = new List<double> { Stopwatch.GetElapsedTime(start).TotalMilliseconds };
        foreach (var name in Contracts)
        {
            start = Stopwatch.GetTimestamp();
            var decoded = ContractRegistry.Deserialize(name, samples[name]);
            var encoded = ContractRegistry.Serialize(decoded);
            timings.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            Check(name, samples[name], encoded);
        }

        start = Stopwatch.GetTimestamp();
        var message = MessagePackSerializer.Deserialize<Message>(samples[nameof(Message)], options);
        var bytes = MessagePackSerializer.Serialize(message, options);
        timings.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        Check(nameof(Message), samples[nameof(Message)], bytes);

        timings.Add(Stopwatch.GetElapsedTime(total).TotalMilliseconds);
        Process.GetCurrentProcess().Refresh();
        timings.Add((Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds);
        Console.WriteLine(string.Join(' ', timings.Select(t => t.ToString("0.00", CultureInfo.InvariantCulture))));
        return 0;
    }

    private static void Check(string name, byte[] expected, byte[] actual)
    {
        if (!expected.AsSpan().SequenceEqual(actual))
        {
            throw new InvalidOperationException($"{name}: the bytes written back differ from the sample's");
        }
    }

    private static void WriteSamples(string path)
    {
        using var file = new BinaryWriter(File.Create(path));
        foreach (var name in Contracts)
        {
            ContractRegistry.TryResolve(name, out var type);
            file.Write(name);
            var bytes = ContractRegistry.Serialize(new SampleValues().Build(type));
            file.Write(bytes.Length);
            file.Write(bytes);
        }

        var entries = ImmutableArray.Create(new Entry(11, 5, EntryType.Normal, new byte[256]), new Entry(12, 5, EntryType.Normal, new byte[256]));
        var message = new Message(MessageType.Append, 2, 1, 5, 5, 10, entries, 10, null, false, 0, null);
        var raft = MessagePackSerializer.Serialize(message, ContractRegistry.Options);
        file.Write(nameof(Message));
        file.Write(raft.Length);
        file.Write(raft);
    }

    private static Dictionary<string, byte[]> ReadSamples(string path)
    {
        using var file = new BinaryReader(File.OpenRead(path));
        var samples = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        while (file.BaseStream.Position < file.BaseStream.Length)
        {
            var name = file.ReadString();
            samples[name] = file.ReadBytes(file.ReadInt32());
        }

        return samples;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
