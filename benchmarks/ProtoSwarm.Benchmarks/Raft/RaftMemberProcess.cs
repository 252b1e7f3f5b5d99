using System.Globalization;
using System.Runtime;
using Microsoft.Extensions.Logging;
using Proto;
using Proto.Remote;
using ProtoSwarm.Actors.Raft;
using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Runtime;
using ProtoSwarm.Raft;

namespace ProtoSwarm.Benchmarks.Raft;

/// <summary>
/// One ProtoSwarm manager's Raft peer in a process of its own, the benchmark executable's hidden
/// `raft-member` mode: <c>raft-member --id N --port P --dir D --peers 1=127.0.0.1:P1,2=... [--bootstrap]</c>.
/// Wired as <see cref="ProtoSwarmQuorum"/> wires each member in-process (RaftActor over its own raft.db,
/// store, pending, view, proposer, `bench-writer`). The parent talks to it by lines: stdout carries
/// <c>ready ...</c>, <c>status ...</c> on every change of leader or membership, and one answer per
/// command; stdin carries <c>add-learner N</c>, <c>cost</c> and <c>stop</c>. End of stdin stops it too,
/// so a member never outlives its parent. Logs go to stderr.
/// </summary>
internal static class RaftMemberProcess
{
    public const string Mode = "raft-member";

    public static async Task<int> RunAsync(string[] args)
    {
        var options = Options(args);
        var raftId = ulong.Parse(options["--id"], CultureInfo.InvariantCulture);
        var port = int.Parse(options["--port"], CultureInfo.InvariantCulture);
        var dir = Directory.CreateDirectory(options["--dir"]);
        var peers = options["--peers"].Split(',').Select(p => p.Split('=')).ToDictionary(p => ulong.Parse(p[0], CultureInfo.InvariantCulture), p => p[1]);

        using var loggerFactory = LoggerFactory.Create(b => b
            .AddSimpleConsole(o => o.SingleLine = true)
            .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace)
            .SetMinimumLevel(LogLevel.Warning)
            .AddFilter("ProtoSwarm.Actors.Raft.RaftActor", LogLevel.Information));
        Proto.Log.SetLoggerFactory(Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);

        // Sealed as managers seal their logs (AES-GCM under a data key of their own).
        using var key = ProtoSwarm.Persistence.Sealing.DataKey.Generate();
        using var sealer = new ProtoSwarm.Persistence.Sealing.Sealer(key);
        var path = Path.Combine(dir.FullName, "raft.db");
        if (options.ContainsKey("--bootstrap"))
        {
            // `swarm init`: a snapshot at index 1 with this member as the only voter; it elects itself.
            RaftBootstrap.Create(path, sealer, ProtoSwarmQuorum.ClusterId, raftId, [], DateTimeOffset.UtcNow);
        }

        var member = await ProtoSwarmQuorum.StartMemberAsync(raftId, port, path, sealer, loggerFactory, id => peers.GetValueOrDefault(id));
        var (system, view, raft) = (member.System, member.View, member.Raft);
        using var _ = member.File;

        // What the parent checks: that the environment gave this process the product's GC.
        Console.WriteLine($"ready pid={Environment.ProcessId} server-gc={GCSettings.IsServerGC} latency-mode={GCSettings.LatencyMode}");
        using var stopping = new CancellationTokenSource();
        var reporter = ReportStatusAsync(view, stopping.Token);
        try
        {
            while (await Console.In.ReadLineAsync() is { } line && line != "stop")
            {
                var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                switch (words.FirstOrDefault())
                {
                    case "add-learner":
                        Console.WriteLine(await AddLearnerAsync(system, raft, ulong.Parse(words[1], CultureInfo.InvariantCulture)));
                        break;
                    case "cost":
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"cost {GC.GetTotalAllocatedBytes(precise: false)} {GC.GetTotalPauseDuration().Ticks} {GC.CollectionCount(0)} {GC.CollectionCount(1)} {GC.CollectionCount(2)} {Environment.CpuUsage.TotalTime.Ticks}"));
                        break;
                    default:
                        Console.WriteLine($"unknown {line}");
                        break;
                }
            }
        }
        finally
        {
            await stopping.CancelAsync();
            await reporter;
            await system.Remote().ShutdownAsync(graceful: true);
            await system.ShutdownAsync();
        }

        return 0;
    }

    private static async Task<string> AddLearnerAsync(ActorSystem system, PID raft, ulong raftId)
    {
        var answer = await system.Root.RequestAsync<MembershipAnswer>(
            raft,
            new ProposeMembership(SwarmIds.NewRequestId(), new ConfChange(ConfChangeType.AddLearner, raftId, $"manager-{raftId}")),
            ProtoSwarmQuorum.ProposalTimeout);
        return answer.Applied ? $"added {raftId}" : $"refused {raftId} {answer.Reason}";
    }

    private static async Task ReportStatusAsync(RaftView view, CancellationToken cancellationToken)
    {
        var last = string.Empty;
        while (!cancellationToken.IsCancellationRequested)
        {
            var status = string.Create(CultureInfo.InvariantCulture, $"status term={view.Term} leader={view.LeaderId} voters={view.Voters.Length} learners={view.Learners.Length}");
            if (status != last)
            {
                Console.WriteLine(status);
                last = status;
            }

            try
            {
                await Task.Delay(10, cancellationToken);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    private static Dictionary<string, string> Options(string[] args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 1; i < args.Length; i++)
        {
            var hasValue = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal);
            options[args[i]] = hasValue ? args[++i] : string.Empty;
        }

        foreach (var required in new[] { "--id", "--port", "--dir", "--peers" })
        {
            if (!options.ContainsKey(required))
            {
                throw new ArgumentException($"{Mode}: {required} is missing. Usage: {Mode} --id N --port P --dir D --peers 1=127.0.0.1:P1,2=127.0.0.1:P2,3=127.0.0.1:P3 [--bootstrap]");
            }
        }

        return options;
    }
}
