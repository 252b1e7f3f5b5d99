using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Output;

/// <summary>One line of `node ls`, with docker's values ("Ready", "Active", "Leader").</summary>
internal sealed record NodeRow(
    string Id,
    string Hostname,
    string Status,
    string Availability,
    string ManagerStatus,
    string EngineVersion,
    bool Self,
    string TlsStatus = NodeView.TlsUnknown);

/// <summary>
/// How nodes are shown: `node ls` rows, table and JSON lines, `node inspect` objects and its
/// `--pretty` text, all in docker's shapes and words. Pure functions of the stored node.
/// </summary>
internal static class NodeView
{
    /// <summary>The fields of a `node ls --format json` object, with their column titles.</summary>
    public static readonly IReadOnlyDictionary<string, string> Columns = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["ID"] = "ID",
        ["Hostname"] = "HOSTNAME",
        ["Status"] = "STATUS",
        ["Availability"] = "AVAILABILITY",
        ["ManagerStatus"] = "MANAGER STATUS",
        ["EngineVersion"] = "ENGINE VERSION",
        ["Self"] = "SELF",
        ["TLSStatus"] = "TLS STATUS",
    };

    /// <summary>The fields of a `node inspect` object, for checking `--format` before asking the node.</summary>
    public static readonly IReadOnlyCollection<string> InspectFields =
        ["ID", "Version", "CreatedAt", "UpdatedAt", "Spec", "Description", "Status", "ManagerStatus"];

    /// <summary>Docker's order: by hostname, "node2" before "node10", then by id.</summary>
    public static IEnumerable<NodeObject> Sorted(IEnumerable<NodeObject> nodes) =>
        nodes.OrderBy(n => n.Description.Hostname, NaturalOrder.Instance).ThenBy(n => n.Id, StringComparer.Ordinal);

    public const string TlsUnknown = "Unknown";

    /// <param name="clusterTls">The swarm's TLS info (<see cref="NodeList.ClusterTlsInfo"/>); null: not known.</param>
    public static NodeRow Row(NodeObject node, string? selfId, NodeTlsInfo? clusterTls = null) => new(
        node.Id,
        node.Description.Hostname,
        StatusText(node.Status.State),
        AvailabilityText(node.Spec.Availability),
        ManagerStatusText(node.ManagerStatus),
        node.Description.EngineVersion,
        Self: selfId is { Length: > 0 } && string.Equals(node.Id, selfId, StringComparison.Ordinal),
        TlsStatus: TlsStatus(node.Description.TlsInfo, clusterTls));

    /// <summary>
    /// `node ls`'s TLS STATUS, decided as docker's CLI decides it: "Unknown" when the node or the swarm reports nothing
    /// (a node or manager of an earlier version); "Ready" when the node trusts exactly the roots the swarm wants and its
    /// certificate comes from the root that signs now; otherwise "Needs Rotation": during `swarm ca --rotate`, a node
    /// not yet renewed, or one renewed that has not yet heard that the old root is gone.
    /// </summary>
    public static string TlsStatus(NodeTlsInfo? node, NodeTlsInfo? cluster) =>
        node is null || node.IsEmpty || cluster is null || cluster.IsEmpty ? TlsUnknown
        : node == cluster ? "Ready"
        : "Needs Rotation";

    public static string StatusText(NodeState state) => state switch
    {
        NodeState.Ready => "Ready",
        NodeState.Down => "Down",
        NodeState.Disconnected => "Disconnected",
        _ => "Unknown",
    };

    public static string AvailabilityText(NodeAvailability availability) => availability switch
    {
        NodeAvailability.Pause => "Pause",
        NodeAvailability.Drain => "Drain",
        _ => "Active",
    };

    /// <summary>"Leader", "Reachable", "Unreachable" for managers; empty for workers, as docker leaves it.</summary>
    public static string ManagerStatusText(ManagerStatus? status) => status switch
    {
        null => string.Empty,
        { Leader: true } => "Leader",
        { Reachability: Reachability.Reachable } => "Reachable",
        { Reachability: Reachability.Unreachable } => "Unreachable",
        _ => "Unknown",
    };

    /// <summary>
    /// `node ls`: docker's default table, whose ID cell is "ID *" for the node the CLI talks to
    /// (its template is `{{.ID}} {{if .Self}}*{{else}} {{end}}`).
    /// </summary>
    public static string Table(IEnumerable<NodeRow> rows)
    {
        IReadOnlyList<string> header = ["ID", "HOSTNAME", "STATUS", "AVAILABILITY", "MANAGER STATUS", "ENGINE VERSION"];
        var lines = rows.Select(r => (IReadOnlyList<string>)
            [r.Id + (r.Self ? " *" : "  "), r.Hostname, r.Status, r.Availability, r.ManagerStatus, r.EngineVersion]);
        return Output.Table.Render(lines.Prepend(header));
    }

    /// <summary>`node ls --format json`: docker's field names, keys sorted as Go's encoder sorts a map.</summary>
    public static JsonObject ToJson(NodeRow row) => new()
    {
        ["Availability"] = row.Availability,
        ["EngineVersion"] = row.EngineVersion,
        ["Hostname"] = row.Hostname,
        ["ID"] = row.Id,
        ["ManagerStatus"] = row.ManagerStatus,
        ["Self"] = row.Self,
        ["Status"] = row.Status,
        ["TLSStatus"] = row.TlsStatus,
    };

    /// <summary>`node inspect`: the object docker's API returns, enum values in lower case.</summary>
    public static JsonObject Inspect(NodeObject node)
    {
        var labels = new JsonObject();
        foreach (var (key, value) in node.Spec.Labels)
        {
            labels[key] = value;
        }

        var status = new JsonObject { ["State"] = Lower(node.Status.State) };
        Json.AddText(status, "Message", node.Status.Message);

        status["Addr"] = node.Status.Addr;

        var json = new JsonObject
        {
            ["ID"] = node.Id,
            ["Version"] = new JsonObject { ["Index"] = node.Meta.Version },
            ["CreatedAt"] = Json.Timestamp(node.Meta.CreatedAt),
            ["UpdatedAt"] = Json.Timestamp(node.Meta.UpdatedAt),
            ["Spec"] = new JsonObject
            {
                ["Labels"] = labels,
                ["Role"] = Lower(node.Spec.DesiredRole),
                ["Availability"] = Lower(node.Spec.Availability),
            },
            ["Description"] = new JsonObject
            {
                ["Hostname"] = node.Description.Hostname,
                ["Platform"] = new JsonObject
                {
                    ["Architecture"] = node.Description.Architecture,
                    ["OS"] = node.Description.Os,
                },
                ["Resources"] = new JsonObject
                {
                    ["NanoCPUs"] = node.Description.NanoCpus,
                    ["MemoryBytes"] = node.Description.MemoryBytes,
                },
                ["Engine"] = EngineJson(node.Description),
                ["TLSInfo"] = TlsInfoJson(node.Description.TlsInfo),
            },
            ["Status"] = status,
        };
        if (node.ManagerStatus is { } manager)
        {
            json["ManagerStatus"] = new JsonObject
            {
                ["Leader"] = manager.Leader,
                ["Reachability"] = Lower(manager.Reachability),
                ["Addr"] = manager.Addr,
            };
        }

        return json;
    }

    /// <summary>Docker's Description.Engine: the version, and the engine labels only when there are some (Go's omitempty).</summary>
    private static JsonObject EngineJson(NodeDescription description)
    {
        var engine = new JsonObject { ["EngineVersion"] = description.EngineVersion };
        if (description.EngineLabels.Count > 0)
        {
            var labels = new JsonObject();
            foreach (var (key, value) in description.EngineLabels)
            {
                labels[key] = value;
            }

            engine["Labels"] = labels;
        }

        return engine;
    }

    /// <summary>
    /// Docker's Description.TLSInfo: always there, each field only when set (Go's omitempty), the two byte fields in
    /// standard base64 as Go's encoder writes bytes.
    /// </summary>
    public static JsonObject TlsInfoJson(NodeTlsInfo? info)
    {
        var json = new JsonObject();
        if (info is not null)
        {
            Json.AddText(json, "TrustRoot", info.TrustRoot);
            Json.AddText(json, "CertIssuerSubject", info.CertIssuerSubject);
            Json.AddText(json, "CertIssuerPublicKey", info.CertIssuerPublicKey);
        }

        return json;
    }

    /// <summary>`node inspect --pretty`: docker's human form, values aligned in one column.</summary>
    public static string Pretty(NodeObject node)
    {
        var text = new StringBuilder();
        void Line(string label, string value) => text.Append((label + ":").PadRight(24)).Append(value).Append('\n');
        void Heading(string label) => text.Append(label).Append(":\n");

        Line("ID", node.Id);
        if (node.Spec.Labels.Count > 0)
        {
            Heading("Labels");
            foreach (var (key, value) in node.Spec.Labels)
            {
                text.Append(" - ").Append(key).Append(value.Length > 0 ? "=" + value : string.Empty).Append('\n');
            }
        }

        Line("Hostname", node.Description.Hostname);
        Line("Joined at", Json.GoTime(node.Meta.CreatedAt));
        Heading("Status");
        Line(" State", StatusText(node.Status.State));
        if (node.Status.Message.Length > 0)
        {
            Line(" Message", node.Status.Message);
        }

        Line(" Availability", AvailabilityText(node.Spec.Availability));
        if (node.Status.Addr.Length > 0)
        {
            Line(" Address", node.Status.Addr);
        }

        if (node.ManagerStatus is { } manager)
        {
            Heading("Manager Status");
            Line(" Address", manager.Addr);
            Line(" Raft Status", Title(manager.Reachability));
            Line(" Leader", manager.Leader ? "Yes" : "No");
        }

        Heading("Platform");
        Line(" Operating System", node.Description.Os);
        Line(" Architecture", node.Description.Architecture);
        Heading("Resources");
        Line(" CPUs", Units.Cpus(node.Description.NanoCpus));
        Line(" Memory", Units.BytesSize(node.Description.MemoryBytes));
        Line("Engine Version", node.Description.EngineVersion);
        if (node.Description.EngineLabels.Count > 0)
        {
            Heading("Engine Labels");
            foreach (var (key, value) in node.Description.EngineLabels)
            {
                text.Append(" - ").Append(key).Append(value.Length > 0 ? "=" + value : string.Empty).Append('\n');
            }
        }

        if (node.Description.TlsInfo is { IsEmpty: false } tls)
        {
            // Docker's template puts the PEM on its own lines after " TrustRoot:", then an empty line.
            Heading("TLS Info");
            text.Append(" TrustRoot:\n").Append(tls.TrustRoot).Append('\n');
            Line(" Issuer Subject", tls.CertIssuerSubject);
            Line(" Issuer Public Key", tls.CertIssuerPublicKey);
        }

        return text.ToString();
    }

    private static string Lower<TEnum>(TEnum value)
        where TEnum : struct, Enum => value.ToString().ToLowerInvariant();

    private static string Title<TEnum>(TEnum value)
        where TEnum : struct, Enum => value.ToString();
}
