using System.Net;
using System.Text.Json;

namespace ProtoSwarm.Cli.Lab;

/// <summary>One node in lab.json. EngineLabels: its daemon's `--label`s, given again when `lab start` restarts it
/// (null in a lab.json written before they were kept: none).</summary>
internal sealed record LabNodeState(string Name, LabRole Role, string Address, string Netns, string StateDir, int Pid, IReadOnlyList<string>? EngineLabels = null)
{
    public LabNodePlan ToPlan() => new(Name, Role, IPAddress.Parse(Address), Netns, StateDir, EngineLabels);

    public static LabNodeState From(LabNodePlan node) =>
        new(node.Name, node.Role, node.Address.ToString(), node.Netns, node.StateDir, 0, node.EngineLabels.Count > 0 ? node.EngineLabels : null);
}

/// <summary>
/// The lab's own record, /var/lib/protoswarm-lab/&lt;name&gt;/lab.json: what `ls`, `exec`, `stop` and
/// `start` need, and the pids `down` must kill. Written before anything is made and rewritten
/// atomically after each change, so a crashed `up` still leaves a record behind.
/// </summary>
internal sealed record LabState(string Name, string Daemon, string BridgeNetns, IReadOnlyList<LabNodeState> Nodes, string Executor = LabPlan.DefaultExecutor)
{
    public static LabState From(LabPlan plan, string daemon, string executor = LabPlan.DefaultExecutor) =>
        new(plan.Name, daemon, plan.BridgeNetns, plan.Nodes.Select(LabNodeState.From).ToList(), executor);

    public LabNodeState Node(string name) =>
        Nodes.FirstOrDefault(n => n.Name == name)
        ?? throw new LabException(
            $"Lab '{Name}' has no node '{name}'; its nodes are {string.Join(", ", Nodes.Select(n => n.Name))}.");

    public LabState WithPid(string node, int pid) =>
        this with { Nodes = Nodes.Select(n => n.Name == node ? n with { Pid = pid } : n).ToList() };

    /// <summary>The record with the node's engine labels replaced (`lab start NODE --engine-label KEY=VALUE`).</summary>
    public LabState WithEngineLabels(string node, IReadOnlyList<string> labels) =>
        this with { Nodes = Nodes.Select(n => n.Name == node ? n with { EngineLabels = labels.Count > 0 ? labels : null } : n).ToList() };

    public static string RecordFile(string root, string lab) => Path.Combine(root, lab, "lab.json");

    /// <summary>The record, or null when there is none (or it is unreadable, as after a crash mid-write).</summary>
    public static LabState? TryLoad(string root, string lab)
    {
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllText(RecordFile(root, lab)), LabStateJson.Default.LabState);
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public static LabState Load(string root, string lab) =>
        TryLoad(root, lab)
        ?? throw new LabException($"No lab named '{lab}' is up; create one with `protoswarm lab up --name {lab}`.");

    public void Save(string root)
    {
        var file = RecordFile(root, Name);
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        var temp = file + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(this, LabStateJson.Default.LabState));
        File.Move(temp, file, overwrite: true);
    }
}
