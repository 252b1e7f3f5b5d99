using System.Globalization;
using System.Net;

namespace ProtoSwarm.Cli.Lab;

internal enum LabRole
{
    Manager,
    Worker,
}

/// <summary>One node as the plan lays it out; nothing here touches the machine. EngineLabels: its daemon's
/// `--label KEY=VALUE`s, as given (`lab up --engine-label NODE:KEY=VALUE`, `lab start NODE --engine-label`).</summary>
internal sealed record LabNodePlan(string Name, LabRole Role, IPAddress Address, string Netns, string StateDir, IReadOnlyList<string>? EngineLabels = null)
{
    public IReadOnlyList<string> EngineLabels { get; init; } = EngineLabels ?? [];

    public string ControlSocket => Path.Combine(StateDir, "control.sock");

    public string LogFile => Path.Combine(StateDir, "protoswarmd.log");

    public string ListenAddr => $"{Address}:{LabPlan.SwarmPort}";

    /// <summary>The registry's plain listener (managers use it; a worker promoted later gets it too), inside the lab only.</summary>
    public string RegistryListen => $"{Address}:{LabPlan.RegistryPort}";
}

/// <summary>
/// The address plan and node layout of a lab. Every lab uses the same private /24: its addresses
/// exist only inside its own namespaces, never on the machine's network, so labs cannot collide.
/// Managers take .11-.60, workers .101-.250, so a node keeps its address whatever the counts.
/// </summary>
internal sealed record LabPlan(string Name, string Root, IReadOnlyList<LabNodePlan> Nodes)
{
    public const string DefaultRoot = "/var/lib/protoswarm-lab";

    /// <summary>What runs the lab's tasks: real containers; `lab up --executor fake` for the test executor.</summary>
    public const string DefaultExecutor = "linux";
    public const int SwarmPort = 2377;

    /// <summary>The swarm registry's plain listener on each lab manager, for outside tools such as skopeo.</summary>
    public const int RegistryPort = 5000;
    public const int PrefixLength = 24;
    public const int MaxManagers = 50;
    public const int MaxWorkers = 150;
    public static readonly IPAddress Subnet = IPAddress.Parse("10.250.0.0");

    public string LabDir => Path.Combine(Root, Name);

    public string RecordFile => Path.Combine(LabDir, "lab.json");

    public string BridgeNetns => LabNames.BridgeNetns(Name);

    public LabNodePlan FirstManager => Nodes[0];

    /// <summary>The one-sentence reason these counts cannot make a lab, or null when they can.</summary>
    public static string? ValidateCounts(int managers, int workers)
    {
        if (managers < 1)
        {
            return $"--managers {managers}: a swarm needs at least one manager; pass --managers 1 or more.";
        }

        if (managers > MaxManagers)
        {
            return $"--managers {managers}: a lab holds at most {MaxManagers} managers.";
        }

        if (workers < 0)
        {
            return $"--workers {workers}: the number of workers cannot be negative.";
        }

        return workers > MaxWorkers ? $"--workers {workers}: a lab holds at most {MaxWorkers} workers." : null;
    }

    public static LabPlan Create(string name, int managers, int workers, string root = DefaultRoot)
    {
        if ((LabNames.ValidateLabName(name) ?? ValidateCounts(managers, workers)) is { } problem)
        {
            throw new LabException(problem);
        }

        var labDir = Path.Combine(root, name);
        var nodes = new List<LabNodePlan>(managers + workers);
        for (var i = 1; i <= managers; i++)
        {
            nodes.Add(Node(name, labDir, LabNames.ManagerName(i), LabRole.Manager, 10 + i));
        }

        for (var i = 1; i <= workers; i++)
        {
            nodes.Add(Node(name, labDir, LabNames.WorkerName(i), LabRole.Worker, 100 + i));
        }

        return new LabPlan(name, root, nodes);
    }

    public static IPAddress HostAddress(int host)
    {
        var bytes = Subnet.GetAddressBytes();
        bytes[3] = (byte)host;
        return new IPAddress(bytes);
    }

    /// <summary>protoswarmd's command line for one node, after `nsenter --net=...`.</summary>
    public static IReadOnlyList<string> DaemonArguments(string daemon, LabNodePlan node, string executor = DefaultExecutor) =>
    [
        daemon,
        "--state", node.StateDir,
        "--listen-addr", node.ListenAddr,
        "--advertise-addr", node.Address.ToString(),
        "--control-socket", node.ControlSocket,
        "--hostname", node.Name,
        "--registry-listen", node.RegistryListen,
        "--executor", executor,
        .. node.EngineLabels.SelectMany(label => new[] { "--label", label }),
    ];

    /// <summary>
    /// The plan with `--engine-label NODE:KEY=VALUE`s given to their nodes' daemons (protoswarmd checks the labels
    /// themselves when it starts); a text without a node, or naming a node the lab does not have, is refused.
    /// </summary>
    public LabPlan WithEngineLabels(IEnumerable<string> texts)
    {
        var nodes = Nodes.ToList();
        foreach (var text in texts)
        {
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            var equals = text.IndexOf('=', StringComparison.Ordinal);
            if (colon <= 0 || (equals >= 0 && equals < colon))
            {
                throw new LabException($"--engine-label {text}: write NODE:KEY=VALUE, e.g. --engine-label w1:disk=ssd.");
            }

            var name = text[..colon];
            var at = nodes.FindIndex(n => n.Name == name);
            if (at < 0)
            {
                throw new LabException($"--engine-label {text}: the lab has no node '{name}'; its nodes are {string.Join(", ", nodes.Select(n => n.Name))}.");
            }

            nodes[at] = nodes[at] with { EngineLabels = [.. nodes[at].EngineLabels, text[(colon + 1)..]] };
        }

        return this with { Nodes = nodes };
    }

    public static string CidrOf(IPAddress address) =>
        string.Create(CultureInfo.InvariantCulture, $"{address}/{PrefixLength}");

    private static LabNodePlan Node(string lab, string labDir, string name, LabRole role, int host) =>
        new(name, role, HostAddress(host), LabNames.NodeNetns(lab, name), Path.Combine(labDir, name));
}
