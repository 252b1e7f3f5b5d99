using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using Process = System.Diagnostics.Process;
using Google.Protobuf.WellKnownTypes;
using Proto;
using Proto.Remote;
using Proto.Remote.GrpcNet;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Networking.Remote;

namespace ProtoSwarm.Benchmarks.Raft;

/// <summary>
/// Three ProtoSwarm managers' Raft peers, each in an OS process of its own (the benchmark executable's
/// <see cref="RaftMemberProcess"/> mode) with the GC protoswarmd runs with, as etcd's members are
/// processes of their own. The writers stay in this process and reach the leader's `bench-writer`
/// over Proto.Remote, as in <see cref="ProtoSwarmQuorum"/>. Disposing kills the members and deletes
/// their data; so do SIGINT, SIGTERM and process exit.
/// </summary>
public sealed class ProtoSwarmProcessQuorum : IRaftQuorum
{
    /// <summary>
    /// protoswarmd's GC (hosting/ProtoSwarm.Node/ProtoSwarm.Node.csproj: ServerGarbageCollection,
    /// ConcurrentGarbageCollection and TieredPGO), set through the environment because the
    /// benchmark's own runtimeconfig keeps .NET's defaults.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> ProductGc = new Dictionary<string, string>
    {
        ["DOTNET_gcServer"] = "0",
        ["DOTNET_gcConcurrent"] = "1",
        ["DOTNET_TieredPGO"] = "1",
    };

    /// <summary>
    /// The members' environment: <see cref="ProductGc"/>, then whatever PROTOSWARM_BENCH_MEMBER_ENV lists
    /// (NAME=VALUE pairs separated by spaces), so a runtime knob can be tried on the managers alone;
    /// exporting it in the parent would also change the writers and etcd's driver, which share this process.
    /// </summary>
    public static IReadOnlyDictionary<string, string> MemberEnvironment()
    {
        var env = new Dictionary<string, string>(ProductGc);
        var extra = Environment.GetEnvironmentVariable("PROTOSWARM_BENCH_MEMBER_ENV") ?? "";
        foreach (var pair in extra.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new ArgumentException($"PROTOSWARM_BENCH_MEMBER_ENV: '{pair}' is not NAME=VALUE; list the members' extra variables as NAME=VALUE pairs separated by spaces.");
            }

            env[pair[..eq]] = pair[(eq + 1)..];
        }

        return env;
    }

    private readonly DirectoryInfo _root;
    private readonly List<Member> _members = [];
    private ActorSystem? _client;
    private long _retries;
    private int _stopped;

    private ProtoSwarmProcessQuorum(DirectoryInfo root) => _root = root;

    public string Name => "ProtoSwarm Raft, 3 manager processes (client over Proto.Remote, to the leader)";

    public string Description { get; private set; } = string.Empty;

    public string Summary => string.Create(CultureInfo.InvariantCulture, $"ProtoSwarm writes retried (not committed in time, or refused during a leader change): {Interlocked.Read(ref _retries)}");

    public static async Task<ProtoSwarmProcessQuorum> StartAsync(TimeSpan? timeout = null)
    {
        var quorum = new ProtoSwarmProcessQuorum(Directory.CreateTempSubdirectory("protoswarm-raft-"));
        ExitCleanup.Register(quorum, quorum.Stop);
        try
        {
            await quorum.FormAsync(timeout ?? TimeSpan.FromSeconds(60));
            return quorum;
        }
        catch
        {
            await quorum.DisposeAsync();
            throw;
        }
    }

    public Func<Task> Writer(string row, int? keySpace)
    {
        var client = _client!;
        long next = 0;
        return async () =>
        {
            // A write the managers could not commit (its leader lost leadership) is retried under a new
            // id, as a client would: the latency includes the retry, and the retries are counted.
            while (true)
            {
                var n = Interlocked.Increment(ref next);
                var node = ProtoSwarmQuorum.SampleNode($"bench-{row}-{(keySpace is { } space ? n % space : n).ToString(CultureInfo.InvariantCulture)}");
                var target = new PID(Leader().Address, ProtoSwarmQuorum.WriterName);
                try
                {
                    if (await client.Root.RequestAsync<object>(target, node, ProtoSwarmQuorum.ClientTimeout) is UInt64Value)
                    {
                        return;
                    }
                }
                catch (TimeoutException)
                {
                }

                Interlocked.Increment(ref _retries);
            }
        };
    }

    /// <summary>The managers' processes' GC figures, summed (allocated bytes, pause, collections per generation), the largest pause of one, and their CPU time summed.</summary>
    public async Task<MembersCost> CostAsync()
    {
        var costs = await Task.WhenAll(_members.Select(async m =>
        {
            var words = (await m.CommandAsync("cost", TimeSpan.FromSeconds(10))).Split(' ');
            var numbers = words.Skip(1).Select(w => long.Parse(w, CultureInfo.InvariantCulture)).ToArray();
            return new MembersCost(numbers[0], TimeSpan.FromTicks(numbers[1]), TimeSpan.FromTicks(numbers[1]), numbers[2], numbers[3], numbers[4], TimeSpan.FromTicks(numbers[5]));
        }));
        return new MembersCost(
            costs.Sum(c => c.Allocated),
            TimeSpan.FromTicks(costs.Sum(c => c.Paused.Ticks)),
            TimeSpan.FromTicks(costs.Max(c => c.Paused.Ticks)),
            costs.Sum(c => c.Gen0),
            costs.Sum(c => c.Gen1),
            costs.Sum(c => c.Gen2),
            TimeSpan.FromTicks(costs.Sum(c => c.Cpu.Ticks)));
    }

    public async ValueTask DisposeAsync()
    {
        if (_client is not null)
        {
            await _client.Remote().ShutdownAsync(graceful: true);
            await _client.ShutdownAsync();
            _client = null;
        }

        Stop();
    }

    private Member Leader()
    {
        // The member that says it leads in the highest term; a stale leader answers with a refusal.
        var leader = _members.Where(m => m.Status.LeaderId == m.Id).MaxBy(m => m.Status.Term)
            ?? _members.MaxBy(m => m.Status.Term)!;
        return _members.FirstOrDefault(m => m.Id == leader.Status.LeaderId) ?? leader;
    }

    private async Task FormAsync(TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        var ports = LoopbackPorts.Free(3);
        var peers = string.Join(',', ports.Select((p, i) => $"{i + 1}=127.0.0.1:{p}"));
        for (var i = 0; i < ports.Length; i++)
        {
            _members.Add(new Member((ulong)i + 1, $"127.0.0.1:{ports[i]}", Path.Combine(_root.FullName, $"manager-{i + 1}")));
        }

        var first = _members[0];
        first.Launch(ports[0], peers, bootstrap: true);
        await first.Ready.WaitAsync(Remaining(deadline, timeout));
        await WaitAsync(() => first.Status.LeaderId == first.Id, deadline, timeout, "member 1 to lead the new swarm");

        // `swarm join --token <manager>`: an empty raft.db, then the leader adds it as a learner and
        // promotes it to voter on its own once it has caught up.
        foreach (var member in _members.Skip(1))
        {
            member.Launch(ports[(int)member.Id - 1], peers, bootstrap: false);
            await member.Ready.WaitAsync(Remaining(deadline, timeout));
            while (true)
            {
                var answer = await first.CommandAsync($"add-learner {member.Id}", ProtoSwarmQuorum.ClientTimeout);
                if (answer.StartsWith("added", StringComparison.Ordinal))
                {
                    break;
                }

                // The promotion of the previous learner may still be in flight: the product retries too.
                if (deadline.Elapsed > timeout || !answer.Contains("another membership change", StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"Adding member {member.Id} as a learner failed: {answer}");
                }

                await Task.Delay(50);
            }
        }

        await WaitAsync(
            () => _members.All(m => m.Status.Voters == 3 && m.Status.LeaderId != 0 && m.Status.LeaderId == first.Status.LeaderId),
            deadline,
            timeout,
            "all three managers to be voters and agree on a leader");

        _client = new ActorSystem().WithClientRemote(RemoteConfigFactory.ForClient().WithProtoMessages(WrappersReflection.Descriptor));
        await _client.Remote().StartAsync();

        var proposalBytes = StoreCodec.EncodeProposal(SwarmIds.NewRequestId(), [StoreChange.Create(ProtoSwarmQuorum.SampleNode("bench-1-1"))], DateTimeOffset.UtcNow).Length;
        Description = string.Create(
            CultureInfo.InvariantCulture,
            $"ProtoSwarm: 3 manager processes ({string.Join("; ", _members.Select(m => $"{m.Id} on {m.Address}, {m.ReadyLine}"))}), started with {string.Join(' ', MemberEnvironment().Select(e => $"{e.Key}={e.Value}"))}, raft.db (WAL, synchronous=FULL) under {_root.FullName}; leader is member {Leader().Id}; each write creates one node object ({proposalBytes} bytes as a Raft entry), sent from a client-mode ActorSystem in this process to the leader's `{ProtoSwarmQuorum.WriterName}` actor, which calls RaftProposer.ProposeAsync");
    }

    private async Task WaitAsync(Func<bool> condition, Stopwatch deadline, TimeSpan timeout, string what)
    {
        while (!condition())
        {
            if (_members.FirstOrDefault(m => m.HasExited) is { } exited)
            {
                throw new InvalidOperationException($"ProtoSwarm member {exited.Id} exited while the quorum formed; its log:{Environment.NewLine}{exited.Log}");
            }

            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException($"The ProtoSwarm quorum did not form within {timeout.TotalSeconds:0} s: waited for {what}. Member logs:{Environment.NewLine}{string.Join(Environment.NewLine, _members.Select(m => $"--- {m.Id} ---{Environment.NewLine}{m.Log}"))}");
            }

            await Task.Delay(20);
        }
    }

    private static TimeSpan Remaining(Stopwatch deadline, TimeSpan timeout) => timeout - deadline.Elapsed is var left && left > TimeSpan.Zero ? left : TimeSpan.Zero;

    /// <summary>Synchronous and idempotent: it also runs from signal handlers and process exit.</summary>
    private void Stop()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        ExitCleanup.Forget(this);
        foreach (var member in _members)
        {
            member.Kill();
        }

        try
        {
            _root.Delete(recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    /// <param name="Cpu">User and kernel time of the processes, summed.</param>
    public sealed record MembersCost(long Allocated, TimeSpan Paused, TimeSpan LongestPaused, long Gen0, long Gen1, long Gen2, TimeSpan Cpu);

    private sealed record MemberStatus(ulong Term, ulong LeaderId, int Voters);

    /// <summary>One member process and the lines it writes: ready, status changes, answers to commands.</summary>
    private sealed class Member(ulong id, string address, string dir)
    {
        private readonly TaskCompletionSource<string> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Channel<string> _answers = Channel.CreateUnbounded<string>();
        private readonly Queue<string> _log = new();
        private readonly SemaphoreSlim _command = new(1, 1);
        private Process? _process;
        private MemberStatus _status = new(0, 0, 0);

        public ulong Id => id;

        public string Address => address;

        public Task<string> Ready => _ready.Task;

        public string ReadyLine => _ready.Task.IsCompletedSuccessfully ? _ready.Task.Result : string.Empty;

        public MemberStatus Status => Volatile.Read(ref _status);

        public bool HasExited => _process is { HasExited: true };

        public string Log
        {
            get
            {
                lock (_log)
                {
                    return string.Join(Environment.NewLine, _log);
                }
            }
        }

        public void Launch(int port, string peers, bool bootstrap)
        {
            var self = Environment.ProcessPath ?? throw new InvalidOperationException("The benchmark's own executable is unknown.");
            var start = new ProcessStartInfo(self)
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            if (Path.GetFileNameWithoutExtension(self) == "dotnet")
            {
                // Run as `dotnet ProtoSwarm.Benchmarks.dll`, not through its apphost.
                start.ArgumentList.Add(typeof(ProtoSwarmProcessQuorum).Assembly.Location);
            }

            foreach (var arg in new[] { RaftMemberProcess.Mode, "--id", id.ToString(CultureInfo.InvariantCulture), "--port", port.ToString(CultureInfo.InvariantCulture), "--dir", dir, "--peers", peers })
            {
                start.ArgumentList.Add(arg);
            }

            if (bootstrap)
            {
                start.ArgumentList.Add("--bootstrap");
            }

            foreach (var (name, value) in MemberEnvironment())
            {
                start.Environment[name] = value;
            }

            var process = new Process { StartInfo = start };
            process.OutputDataReceived += (_, e) => OnLine(e.Data);
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is { } line)
                {
                    AddLog(line);
                    if (line.Contains("ProtoSwarm.Actors.Raft.RaftActor", StringComparison.Ordinal) || line.StartsWith("fail", StringComparison.Ordinal) || line.StartsWith("warn", StringComparison.Ordinal) || line.StartsWith("crit", StringComparison.Ordinal))
                    {
                        Console.WriteLine($"[manager {id}] {line}");
                    }
                }
            };
            process.Exited += (_, _) => _ready.TrySetException(new InvalidOperationException($"ProtoSwarm member {id} exited before it was ready; its log:{Environment.NewLine}{Log}"));
            process.EnableRaisingEvents = true;
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            _process = process;
        }

        public async Task<string> CommandAsync(string command, TimeSpan timeout)
        {
            await _command.WaitAsync();
            try
            {
                await _process!.StandardInput.WriteLineAsync(command);
                await _process.StandardInput.FlushAsync();
                using var cancel = new CancellationTokenSource(timeout);
                return await _answers.Reader.ReadAsync(cancel.Token);
            }
            finally
            {
                _command.Release();
            }
        }

        public void Kill()
        {
            if (_process is { } process)
            {
                ExitCleanup.Kill(process);
            }
        }

        private void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }

            if (line.StartsWith("ready ", StringComparison.Ordinal))
            {
                _ready.TrySetResult(line["ready ".Length..]);
            }
            else if (line.StartsWith("status ", StringComparison.Ordinal))
            {
                var fields = line.Split(' ').Skip(1).Select(f => f.Split('=')).ToDictionary(f => f[0], f => f[1]);
                Volatile.Write(ref _status, new MemberStatus(
                    ulong.Parse(fields["term"], CultureInfo.InvariantCulture),
                    ulong.Parse(fields["leader"], CultureInfo.InvariantCulture),
                    int.Parse(fields["voters"], CultureInfo.InvariantCulture)));
            }
            else
            {
                _answers.Writer.TryWrite(line);
            }
        }

        private void AddLog(string line)
        {
            lock (_log)
            {
                _log.Enqueue(line);
                if (_log.Count > 40)
                {
                    _log.Dequeue();
                }
            }
        }
    }
}
