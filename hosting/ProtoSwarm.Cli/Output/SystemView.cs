using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Output;

/// <summary>The CLI's own version, as `version` prints it beside the node's.</summary>
internal sealed record ClientVersion(string Version, string ApiVersion, string Runtime, string Os, string Architecture)
{
    /// <summary>The control protocol this CLI speaks; raise it with incompatible contract changes.</summary>
    public const string ControlApiVersion = "1";

    public static ClientVersion Current { get; } = new(
        (typeof(ClientVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown")
            .Split('+')[0],
        ControlApiVersion,
        RuntimeInformation.FrameworkDescription,
        OperatingSystem.IsLinux() ? "linux" : OperatingSystem.IsMacOS() ? "darwin" : OperatingSystem.IsWindows() ? "windows" : "unknown",
        RuntimeInformation.OSArchitecture switch
        {
            System.Runtime.InteropServices.Architecture.X64 => "amd64",
            System.Runtime.InteropServices.Architecture.Arm64 => "arm64",
            System.Runtime.InteropServices.Architecture.X86 => "386",
            System.Runtime.InteropServices.Architecture.Arm => "arm",
            var other => other.ToString().ToLowerInvariant(),
        });
}

/// <summary>What `info` and `version` print: docker's layout and, for --format, docker-shaped JSON.</summary>
internal static class SystemView
{
    public static readonly IReadOnlyCollection<string> InfoFields = ["ID", "Labels", "Name", "ServerVersion", "StateDir", "Swarm"];

    public static readonly IReadOnlyCollection<string> VersionFields = ["Client", "Server"];

    public static string Info(NodeInfoSnapshot info)
    {
        var text = new StringBuilder("Server:\n");
        text.Append(" Server Version: ").Append(info.EngineVersion).Append('\n');
        text.Append(" Swarm: ").Append(info.LocalNodeState).Append('\n');
        if (info.LocalNodeState != "inactive")
        {
            text.Append("  NodeID: ").Append(info.NodeId).Append('\n');
            if (info.Note.Length > 0)
            {
                text.Append("  Note: ").Append(info.Note).Append('\n');
            }

            if (info.Error.Length > 0)
            {
                text.Append("  Error: ").Append(info.Error).Append('\n');
            }

            text.Append("  Is Manager: ").Append(info.ControlAvailable ? "true" : "false").Append('\n');

            // A node just promoted, still restarting its member (Note), cannot count the swarm yet: no "Managers: 0".
            if (info.ControlAvailable && info.Note.Length == 0)
            {
                text.Append("  ClusterID: ").Append(info.ClusterId).Append('\n');
                text.Append("  Managers: ").Append(info.Managers).Append('\n');
                text.Append("  Nodes: ").Append(info.Nodes).Append('\n');
                if (info.TaskHistoryRetentionLimit is { } historyLimit)
                {
                    text.Append("  Orchestration:\n");
                    text.Append("   Task History Retention Limit: ").Append(historyLimit.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append('\n');
                }

                if (info.DispatcherHeartbeatMs is { } heartbeatMs)
                {
                    // docker prints it as a human duration; below a second (this swarm's default is 500 ms) that would be
                    // "Less than a second", so the exact period is shown there.
                    var period = TimeSpan.FromMilliseconds(heartbeatMs);
                    text.Append("  Dispatcher:\n");
                    text.Append("   Heartbeat Period: ").Append(period < TimeSpan.FromSeconds(1) ? $"{heartbeatMs} milliseconds" : Duration(period)).Append('\n');
                }

                if (info.Security is { } security)
                {
                    text.Append("  CA Configuration:\n");
                    text.Append("   Expiry Duration: ").Append(Duration(TimeSpan.FromSeconds(security.NodeCertExpirySeconds))).Append('\n');
                    if (!security.ExternalCas.IsDefaultOrEmpty)
                    {
                        // As docker's `info`: "External CAs:", then "cfssl: URL" a line.
                        text.Append("   External CAs:\n");
                        foreach (var ca in security.ExternalCas)
                        {
                            text.Append("     ").Append(ca.Protocol).Append(": ").Append(ca.Url).Append('\n');
                        }
                    }
                    text.Append("  Autolock Managers: ").Append(security.AutoLockManagers ? "true" : "false").Append('\n');
                    text.Append("  Root Rotation In Progress: ").Append(security.RootRotationInProgress ? "true" : "false").Append('\n');
                }
            }

            text.Append("  Node Address: ").Append(info.NodeAddr).Append('\n');
            if (info.RemoteManagers.Length > 0)
            {
                text.Append("  Manager Addresses:\n");
                foreach (var addr in info.RemoteManagers.Order(StringComparer.Ordinal))
                {
                    text.Append("   ").Append(addr).Append('\n');
                }
            }
        }

        text.Append(" Name: ").Append(info.Hostname).Append('\n');
        text.Append(" State Dir: ").Append(info.StateDir).Append('\n');

        // docker prints the engine's labels (dockerd --label) after the name and root dir, one "key=value" a line.
        if (info.Labels.Length > 0)
        {
            text.Append(" Labels:\n");
            foreach (var label in info.Labels)
            {
                text.Append("  ").Append(label).Append('\n');
            }
        }

        return text.ToString();
    }

    /// <summary>A duration in the words docker's `info` uses (go-units' HumanDuration): "3 months", "4 weeks", "12 hours".</summary>
    internal static string Duration(TimeSpan span)
    {
        var hours = (long)span.TotalHours;
        return span switch
        {
            { TotalSeconds: < 1 } => "Less than a second",
            { TotalSeconds: < 2 } => "1 second",
            { TotalSeconds: < 60 } => $"{(long)span.TotalSeconds} seconds",
            { TotalMinutes: < 2 } => "About a minute",
            { TotalMinutes: < 60 } => $"{(long)span.TotalMinutes} minutes",
            { TotalHours: < 2 } => "About an hour",
            _ when hours < 48 => $"{hours} hours",
            _ when hours < 24 * 7 * 2 => $"{hours / 24} days",
            _ when hours < 24 * 30 * 2 => $"{hours / 24 / 7} weeks",
            _ when hours < 24 * 365 * 2 => $"{hours / 24 / 30} months",
            _ => $"{hours / 24 / 365} years",
        };
    }

    /// <summary>Docker's `info` JSON where the fields exist here: Name, ServerVersion, Swarm{...}.</summary>
    public static JsonObject InfoJson(NodeInfoSnapshot info)
    {
        var swarm = new JsonObject
        {
            ["NodeID"] = info.NodeId,
            ["NodeAddr"] = info.NodeAddr,
            ["LocalNodeState"] = info.LocalNodeState,
            ["ControlAvailable"] = info.ControlAvailable,
            ["Error"] = info.Error,
            ["RemoteManagers"] = new JsonArray(info.RemoteManagers.Select(a => (JsonNode?)new JsonObject { ["Addr"] = a }).ToArray()),
            ["Nodes"] = info.Nodes,
            ["Managers"] = info.Managers,
        };
        if (info.ClusterId.Length > 0)
        {
            var cluster = new JsonObject { ["ID"] = info.ClusterId };
            var spec = new JsonObject();
            if (info.TaskHistoryRetentionLimit is { } historyLimit)
            {
                spec["Orchestration"] = new JsonObject { ["TaskHistoryRetentionLimit"] = historyLimit };
            }

            if (info.DispatcherHeartbeatMs is { } heartbeatMs)
            {
                // docker's Spec.Dispatcher.HeartbeatPeriod, in nanoseconds.
                spec["Dispatcher"] = new JsonObject { ["HeartbeatPeriod"] = heartbeatMs * 1_000_000 };
            }

            if (info.Security is { } security)
            {
                // docker's names: Spec.CAConfig.NodeCertExpiry in nanoseconds, Spec.EncryptionConfig.AutoLockManagers.
                var caConfig = new JsonObject { ["NodeCertExpiry"] = security.NodeCertExpirySeconds * 1_000_000_000 };
                if (!security.ExternalCas.IsDefaultOrEmpty)
                {
                    // docker's ExternalCA: Protocol, URL, Options, CACert.
                    caConfig["ExternalCAs"] = new JsonArray([.. security.ExternalCas.Select(ca => (JsonNode)new JsonObject
                    {
                        ["Protocol"] = ca.Protocol,
                        ["URL"] = ca.Url,
                        ["Options"] = new JsonObject(),
                        ["CACert"] = ca.CaCertPem,
                    })]);
                }

                spec["CAConfig"] = caConfig;
                spec["EncryptionConfig"] = new JsonObject { ["AutoLockManagers"] = security.AutoLockManagers };
                cluster["RootRotationInProgress"] = security.RootRotationInProgress;
            }

            if (spec.Count > 0)
            {
                cluster["Spec"] = spec;
            }

            swarm["Cluster"] = cluster;
        }

        return new JsonObject
        {
            ["ID"] = info.NodeId,
            ["Name"] = info.Hostname,
            ["ServerVersion"] = info.EngineVersion,
            ["StateDir"] = info.StateDir,
            ["Labels"] = new JsonArray(info.Labels.Select(l => (JsonNode?)l).ToArray()),
            ["Swarm"] = swarm,
        };
    }

    public static string ClientPart(ClientVersion client) =>
        "Client:\n" + Pair("Version", client.Version) + Pair("API version", client.ApiVersion) +
        Pair("Runtime", client.Runtime) + Pair("OS/Arch", $"{client.Os}/{client.Architecture}");

    public static string ServerPart(VersionInfo server) =>
        "\nServer:\n" + Pair("Version", server.Version) + Pair("API version", server.ApiVersion) +
        Pair("Runtime", server.Runtime) + Pair("OS/Arch", $"{server.Os}/{server.Architecture}");

    public static JsonObject VersionJson(ClientVersion client, VersionInfo? server) => new()
    {
        ["Client"] = new JsonObject
        {
            ["Version"] = client.Version,
            ["ApiVersion"] = client.ApiVersion,
            ["Runtime"] = client.Runtime,
            ["Os"] = client.Os,
            ["Arch"] = client.Architecture,
        },
        ["Server"] = server is null
            ? null
            : new JsonObject
            {
                ["Version"] = server.Version,
                ["ApiVersion"] = server.ApiVersion,
                ["Runtime"] = server.Runtime,
                ["Os"] = server.Os,
                ["Arch"] = server.Architecture,
            },
    };

    private static string Pair(string label, string value) => " " + (label + ":").PadRight(18) + value + "\n";
}
