using System.Globalization;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

// Reads an EventPipe trace with the runtime's GC events at verbose level (AllocationTick: one sample
// per ~100 KB allocated, with its type and call stack) and prints where the bytes were allocated: by
// type, by the first frame of ProtoSwarm's or a library's own code, and by stack.
if (args.Length < 1)
{
    Console.Error.WriteLine("usage: AllocReport TRACE.nettrace [frames per stack, default 6]");
    return 2;
}

var depth = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 6;
string[] own = ["ProtoSwarm", "Proto.", "Grpc", "Microsoft.Data", "MessagePack", "Google.Protobuf"];
using var log = new TraceLog(TraceLog.CreateFromEventPipeDataFile(args[0]));
var byType = new Dictionary<string, long>(StringComparer.Ordinal);
var bySite = new Dictionary<string, long>(StringComparer.Ordinal);
var byStack = new Dictionary<string, long>(StringComparer.Ordinal);
long total = 0;
foreach (var ev in log.Events)
{
    if (ev is not GCAllocationTickTraceData tick)
    {
        continue;
    }

    var amount = tick.AllocationAmount64;
    total += amount;
    Add(byType, tick.TypeName, amount);
    var frames = new List<string>();
    for (var frame = ev.CallStack(); frame is not null && frames.Count < 40; frame = frame.Caller)
    {
        var name = frame.CodeAddress.FullMethodName;
        frames.Add(string.IsNullOrEmpty(name) ? "?" + frame.CodeAddress.ModuleName : name);
    }

    Add(bySite, frames.FirstOrDefault(f => own.Any(o => f.StartsWith(o, StringComparison.Ordinal))) ?? frames.FirstOrDefault() ?? "(no stack)", amount);
    Add(byStack, tick.TypeName + " <= " + string.Join(" <= ", frames.Take(depth)), amount);
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{total / 1048576.0:0.0} MiB sampled"));
Print("by type", byType, 30);
Print("by the first frame of ProtoSwarm's or a library's code", bySite, 40);
Print("by stack", byStack, 25);
return 0;

void Print(string title, Dictionary<string, long> rows, int count)
{
    Console.WriteLine($"== {title}");
    foreach (var (key, bytes) in rows.OrderByDescending(r => r.Value).Take(count))
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{100.0 * bytes / Math.Max(1, total),5:0.0}% {key}"));
    }
}

static void Add(Dictionary<string, long> rows, string key, long amount) =>
    rows[key] = rows.GetValueOrDefault(key) + amount;
