// ProtoSwarm benchmarks: each measures ProtoSwarm against a baseline in the same run and prints a
// Markdown table. Usage: dotnet run -c Release --project benchmarks/ProtoSwarm.Benchmarks -- [store|remote|tls|seal|scheduler|all|raft|raft-bounded|raft-inproc|raft-bounded-inproc|orchestration|containers|containers-scale|logs|peers|dns|registry|swarm-scale|stack-deploy|serializer-first-use|idle] [seconds|replicas|runs|count|rounds] [parallelism|lab sizes]
// `raft` is not part of `all`: it starts an etcd cluster from Debian's etcd-server (installed with
// benchmarks/install-etcd.sh when missing, which needs root). `orchestration [replicas]` is not either: it
// brings up a lab swarm (root) with the CLI that scripts/up.sh builds into out/bin.
using Microsoft.Extensions.Logging;
using ProtoSwarm.Benchmarks;
using ProtoSwarm.Benchmarks.Raft;

// The hidden mode the multi-process Raft rows start three times: one manager's Raft peer, no header.
if (args.Length > 0 && args[0] == RaftMemberProcess.Mode)
{
    return await RaftMemberProcess.RunAsync(args);
}

// The hidden mode serializer-first-use starts once per run: a fresh process's first decode + encode.
if (args.Length > 1 && args[0] == SerializerFirstUse.OnceMode)
{
    return SerializerFirstUse.RunOnce(args[1]);
}

var which = args.Length > 0 ? args[0] : "all";
var seconds = args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5;
var duration = TimeSpan.FromSeconds(seconds);
Console.WriteLine(which is "orchestration" or "containers-scale" or "logs" or "peers" or "registry" or "swarm-scale" or "stack-deploy" or "idle"
    ? $"# ProtoSwarm benchmarks ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores)"
    : $"# ProtoSwarm benchmarks ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {seconds} s per row)");

if (which is "store" or "all")
{
    Console.WriteLine();
    Console.WriteLine($"One synchronous 4 KiB write (write + fsync) on this disk, same run: {FsyncProbe.MeanMilliseconds(500):0.000} ms mean");
    var results = await StoreCommitBenchmark.RunAsync(duration, [1, 16, 256]);
    Harness.Print("Manager store: committed writes, fsync on (WAL, synchronous=FULL)", results,
        r => results.First(b => b.Concurrency == r.Concurrency && b.Name.StartsWith("one transaction", StringComparison.Ordinal)));
}

if (which is "remote" or "all")
{
    Proto.Log.SetLoggerFactory(Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
    var results = await RemoteRequestBenchmark.RunAsync(duration, [1, 16, 128]);
    Harness.Print("Proto.Remote request/response on loopback (heartbeat and its answer)", results,
        r => results.First(b => b.Concurrency == r.Concurrency && b.Name.StartsWith("JSON", StringComparison.Ordinal)));
}

if (which is "tls" or "all")
{
    Proto.Log.SetLoggerFactory(Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
    var results = await MutualTlsBenchmark.RunAsync(duration, [1, 16, 128]);
    Harness.Print("Proto.Remote request/response on loopback: mutual TLS vs plain (heartbeat and its answer, MessagePack)", results,
        r => MutualTlsBenchmark.BaselineOf(results, r));
}

if (which is "seal" or "all")
{
    var results = await RaftSealingBenchmark.RunAsync(duration, [1, 64]);
    Harness.Print("Raft file: one Ready per write, sealed (AES-GCM) vs in clear, fsync on", results,
        r => RaftSealingBenchmark.IsBaseline(r) ? r : results[results.IndexOf(r) - 1]);
}

if (which is "scheduler" or "all")
{
    // Each row repeats the whole placement for the given seconds (at least 3 runs); a run is the op.
    SchedulerBenchmark.Print(1_000, 10_000, SchedulerBenchmark.Run(duration));
}

if (which is "orchestration")
{
    // Not part of "all": it needs root and the built CLI (a lab of three protoswarmd processes).
    OrchestrationBenchmark.Print(await OrchestrationBenchmark.RunAsync(args.Length > 1 ? (int)seconds : 1_000));
}

if (which is "containers")
{
    // Not part of "all": it needs root, runc and crun (installed from Debian when missing) and out/bin/protoswarm-init.
    var results = await ContainerStartBenchmark.RunAsync(args.Length > 1 ? (int)seconds : 30);
    Harness.Print("Container start: request to `true` exited, one at a time, busybox root (ops/s = 1 / mean; baseline crun)", results, r => results[^1]);
}

if (which is "logs")
{
    // Not part of "all": logs [lines] [max-size MiB]: one task's log written and read in `service logs` pages, no root.
    var lines = args.Length > 1 ? (int)seconds : 300_000;
    var maxSize = (args.Length > 2 ? long.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 10) * 1024 * 1024;
    LogPagingBenchmark.Print(lines, maxSize, LogPagingBenchmark.Run(lines, maxSize));
}

if (which is "containers-scale")
{
    // Not part of "all": root, crun and conmon (installed from Debian when missing), out/bin/protoswarm-init.
    // containers-scale N [parallelism]: N sleeping containers, started and removed `parallelism` at a time.
    var count = args.Length > 1 ? (int)seconds : 100;
    var parallelism = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 4;
    ContainerScaleBenchmark.Print(await ContainerScaleBenchmark.RunAsync(count, parallelism));
}

if (which is "peers")
{
    // Not part of "all": root and iproute2. peers [runs] [peers]: a 1,000-peer change applied and removed, runs times.
    var runs = args.Length > 1 ? (int)seconds : 20;
    var peers = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 1_000;
    PeerChangeBenchmark.Print(await PeerChangeBenchmark.RunAsync(peers, runs));
}

if (which is "dns")
{
    // Not part of "all": it needs root (a network namespace) and dnsmasq (installed from Debian when missing).
    var results = await DnsBenchmark.RunAsync(duration, [1, 16]);
    Harness.Print("DNS: an A query for a service name, UDP on loopback inside one namespace (baselines: dnsmasq, ARSoft's bare server)", results,
        r => results.First(b => b.Concurrency == r.Concurrency && b.Name.StartsWith("dnsmasq", StringComparison.Ordinal)));
}

if (which is "registry")
{
    // Not part of "all": root (the image stores unpack layers) and Debian's docker-registry. registry [rounds]:
    // a ~100 MB image pulled by 3 nodes at once from ProtoSwarm's registry (HTTP, TLS) and docker-registry, rounds times.
    RegistryPullBenchmark.Print(await RegistryPullBenchmark.RunAsync(args.Length > 1 ? (int)seconds : 5));
}

if (which is "serializer-first-use")
{
    // Not part of "all". serializer-first-use [runs=10]: the first decode + encode of three contracts and a Raft
    // message, each run in a new process.
    return await SerializerFirstUse.RunAsync(args.Length > 1 ? (int)seconds : 10);
}

if (which is "swarm-scale")
{
    // Not part of "all": root, out/bin (scripts/setup.sh) and Debian's docker.io (installed when missing).
    // swarm-scale [N=100] [lab sizes=1,3]: a service of N busybox sleeps to N/N and removed, ProtoSwarm labs vs Docker Swarm.
    var replicas = args.Length > 1 ? (int)seconds : 100;
    var sizes = args.Length > 2 ? args[2].Split(',').Select(s => int.Parse(s, System.Globalization.CultureInfo.InvariantCulture)).ToList() : [1, 3];
    SwarmScaleBenchmark.Print(await SwarmScaleBenchmark.RunAsync(replicas, sizes));
}

if (which is "stack-deploy")
{
    // Not part of "all": root, out/bin (scripts/setup.sh), and what samples/voting-app/build-images.sh needs.
    // stack-deploy [rounds=3]: the voting app and a busybox stack of the same shape deployed and removed in a 3-node lab.
    StackDeployBenchmark.Print(await StackDeployBenchmark.RunAsync(args.Length > 1 ? (int)seconds : 3));
}

if (which is "idle")
{
    // Not part of "all": root and out/bin (scripts/setup.sh). idle [seconds=30] [managers,workers=3,2] [settle=60] [label=protoswarmd ...]:
    // an idle lab's CPU, wake-ups and TCP segments per node; each daemon given its own lab, one after the other (none: this build's).
    var window = args.Length > 1 ? duration : TimeSpan.FromSeconds(30);
    var sizes = (args.Length > 2 ? args[2] : "3,2").Split(',').Select(s => int.Parse(s, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
    var settle = TimeSpan.FromSeconds(args.Length > 3 ? double.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 60);
    var rows = await IdleBenchmark.RunAsync(IdleBenchmark.ParseDaemons(args.Skip(4)), sizes[0], sizes[1], settle, window);
    IdleBenchmark.Print(rows, sizes[0], sizes[1], settle, window);
}

if (which is "raft" or "raft-bounded" or "raft-inproc" or "raft-bounded-inproc")
{
    Proto.Log.SetLoggerFactory(Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
    // The Raft peers' warnings and their Information events: the quorum forming, snapshots, leader changes.
    using var loggerFactory = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true)
        .SetMinimumLevel(LogLevel.Warning)
        .AddFilter("ProtoSwarm.Actors.Raft.RaftActor", LogLevel.Information));
    // raft: every write a new key (the store grows); raft-bounded: writes overwrite 1,024 keys.
    // raft, raft-bounded: each manager its own process with protoswarmd's GC, as etcd's members are;
    // the -inproc variants keep the three managers in this process, sharing its heap with etcd's driver.
    Func<Task<IRaftQuorum>> quorum = which.EndsWith("-inproc", StringComparison.Ordinal)
        ? async () => await ProtoSwarmQuorum.StartAsync(loggerFactory)
        : async () => await ProtoSwarmProcessQuorum.StartAsync();
    await RaftBenchmark.RunAsync(duration, [1, 16, 256], quorum, which.StartsWith("raft-bounded", StringComparison.Ordinal) ? 1024 : null);
}

return 0;
