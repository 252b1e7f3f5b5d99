using System.Collections.Immutable;
using System.CommandLine;
using ProtoSwarm.Cli;
using ProtoSwarm.Cli.Commands;
using ProtoSwarm.Cli.Control;
using ProtoSwarm.Cli.Terminal;
using ProtoSwarm.Client;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Tests.Cli;

/// <summary>A node host that answers from a function and remembers what it was asked.</summary>
internal sealed class FakeNode(Func<object, object> answer) : INodeConnection
{
    public List<object> Requests { get; } = [];

    public string Address => "/fake/control.sock";

    /// <summary>The node's side of a streamed answer (run attached, exec -i): given the request, the client's end of the
    /// connection; null: the node cannot stream (over TCP).</summary>
    public Func<object, Stream>? Streams { get; init; }

    public bool CanStream => Streams is not null;

    /// <summary>A manager's events over TCP, as its subscription sends them; null: events come from <see cref="Streams"/>.</summary>
    public Func<WatchEvents, IAsyncEnumerable<SwarmEvent>>? Events { get; init; }

    public IAsyncEnumerable<SwarmEvent> WatchEventsAsync(WatchEvents request, CancellationToken ct)
    {
        if (Events is null)
        {
            return ControlSocketEvents.ReadAsync(this, request, ct);
        }

        Requests.Add(request);
        return Events(request);
    }

    public Task<(TReply Reply, Stream Connection)> OpenStreamAsync<TReply>(object request, TimeSpan timeout, CancellationToken ct)
    {
        if (Streams is null)
        {
            throw new SwarmCommandException(RejectCode.InvalidArgument,
                $"{Address} is reached over TCP, which carries no interactive exec; run the command on the task's node, against its control socket (unix://).");
        }

        Requests.Add(request);
        return answer(request) switch
        {
            TReply reply => Task.FromResult((reply, Streams(request))),
            CommandRejected rejected => throw new SwarmCommandException(rejected.Code, rejected.Reason),
            var other => throw new InvalidOperationException($"FakeNode answered {other.GetType().Name} to {request.GetType().Name}"),
        };
    }

    public Task<TReply> RequestAsync<TReply>(object request, TimeSpan timeout, CancellationToken ct)
    {
        Requests.Add(request);
        return answer(request) switch
        {
            TReply reply => Task.FromResult(reply),
            CommandRejected rejected => throw new SwarmCommandException(rejected.Code, rejected.Reason),
            var other => throw new InvalidOperationException($"FakeNode answered {other.GetType().Name} to {request.GetType().Name}"),
        };
    }
}

internal static class CliHarness
{
    public static readonly DateTimeOffset Joined = new(2025, 3, 1, 12, 30, 45, 120, TimeSpan.Zero);

    /// <summary>Service commands poll at once and take the first converged look as stable.</summary>
    public static readonly ServiceWaitTiming FastWait = new(TimeSpan.FromMilliseconds(1), TimeSpan.Zero);

    public static Task<(int Code, string Out, string Err)> RunAsync(FakeNode node, params string[] args) =>
        RunUntilAsync(node, CancellationToken.None, args);

    /// <summary>Runs a command until it ends or <paramref name="ct"/> is cancelled, as Ctrl-C would; follows poll every 10 ms.</summary>
    public static Task<(int Code, string Out, string Err)> RunUntilAsync(FakeNode node, CancellationToken ct, params string[] args) =>
        RunWithInputAsync(node, [], ct, args);

    /// <summary>Runs a command with <paramref name="stdin"/> as what it reads from its standard input.</summary>
    public static Task<(int Code, string Out, string Err)> RunWithInputAsync(FakeNode node, byte[] stdin, CancellationToken ct, params string[] args) =>
        RunCoreAsync(node, stdin, TimeSpan.FromMilliseconds(10), args, ct);

    /// <summary>As <see cref="RunUntilAsync"/> with follows polling every <paramref name="logPoll"/>, for a test that tells an ask at once from a poll.</summary>
    public static Task<(int Code, string Out, string Err)> RunPollingEveryAsync(FakeNode node, TimeSpan logPoll, CancellationToken ct, params string[] args) =>
        RunCoreAsync(node, [], logPoll, args, ct);

    /// <summary>Runs a command with its own byte console: what `image save` writes to stdout, and whether stdin and stdout are terminals.</summary>
    public static Task<(int Code, string Out, string Err)> RunWithConsoleAsync(FakeNode node, byte[] stdin, ExecConsole console, params string[] args) =>
        RunCoreAsync(node, stdin, TimeSpan.FromMilliseconds(10), args, CancellationToken.None, console);

    private static async Task<(int Code, string Out, string Err)> RunCoreAsync(FakeNode node, byte[] stdin, TimeSpan logPoll, string[] args, CancellationToken ct, ExecConsole? console = null)
    {
        var root = new CliApp(_ => node) { WaitTiming = FastWait, TaskStopAllowance = TimeSpan.FromMilliseconds(200), LogPollInterval = logPoll, CaRotationPollInterval = TimeSpan.FromMilliseconds(1), StatsInterval = TimeSpan.FromMilliseconds(10), StandardInput = () => new MemoryStream(stdin), ExecConsole = console ?? ExecConsole.Process }.CreateRoot();
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CliApp.RunAsync(root, args, new InvocationConfiguration
        {
            Output = output,
            Error = error,
            EnableDefaultExceptionHandler = false,
        }, ct);
        return (code, output.ToString(), error.ToString());
    }

    public static NodeObject Node(
        string id,
        string hostname,
        NodeRole role = NodeRole.Worker,
        NodeState state = NodeState.Ready,
        NodeAvailability availability = NodeAvailability.Active,
        bool leader = false,
        Reachability reachability = Reachability.Reachable,
        ImmutableSortedDictionary<string, string>? labels = null) => new(
        id,
        new ObjectMeta(42, Joined, Joined.AddMinutes(5)),
        new NodeSpec(role, availability, labels ?? ImmutableSortedDictionary<string, string>.Empty),
        role,
        new NodeDescription(hostname, "linux", "x86_64", 4_000_000_000, 8_272_408_576, "0.1.0"),
        new NodeStatus(state, string.Empty, "10.0.0.1", Joined),
        role == NodeRole.Manager ? new ManagerStatus(leader, reachability, "10.0.0.1:2377") : null,
        null);

    public static NodeInfoSnapshot Info(string nodeId, bool manager = true) => new(
        "active", nodeId, "10.0.0.1", manager, manager ? "cluster1" : string.Empty, 1, 3,
        ["10.0.0.1:2377"], "manager1", "0.1.0", "/var/lib/protoswarm", string.Empty, "0.0.0.0:2377", "member1");

    public static ServiceSpec Spec(string name = "web", long replicas = 3, string image = "nginx:1.27") => new(
        name,
        ImmutableSortedDictionary<string, string>.Empty,
        ServiceMode.ReplicatedMode(replicas),
        new TaskSpec(new ContainerSpec(image)));

    public static ServiceObject Service(
        string id = "svc000000000000000000web1",
        ServiceSpec? spec = null,
        ulong specVersion = 1,
        ulong version = 10,
        UpdateStatus? status = null,
        ServiceSpec? previous = null) =>
        new(id, new ObjectMeta(version, Joined, Joined.AddMinutes(1)), spec ?? Spec(), specVersion, previous, status);

    public static TaskObject Task(
        string id,
        long slot,
        TaskState state = TaskState.Running,
        TaskState desired = TaskState.Running,
        ulong specVersion = 1,
        string node = "node00000000000000000000a",
        string serviceId = "svc000000000000000000web1",
        string err = "",
        DateTimeOffset? created = null,
        DateTimeOffset? at = null,
        string image = "nginx:1.27") => new(
        id,
        new ObjectMeta(1, created ?? Joined, created ?? Joined),
        serviceId,
        slot,
        node,
        new TaskSpec(new ContainerSpec(image)),
        specVersion,
        desired,
        new TaskObservedStatus(state, at ?? Joined, Err: err));

    public static UpdateStatus Status(UpdateState state, string message) => new(state, Joined, null, message);
}
