using System.Collections.Immutable;
using System.Globalization;
using ProtoSwarm.Cli.Commands;

namespace ProtoSwarm.Cli.Compose;

/// <summary>
/// Several compose files (-c a.yml -c b.yml) made one, later over earlier, as docker's loader merges
/// them (cli/compose/loader/merge.go): a service named in both is merged key by key (scalars,
/// command/entrypoint, a network's aliases and each ulimit replaced; logging merged when the driver is
/// the same or unnamed, replaced when it differs; other mappings merged; environment/labels/sysctls/
/// networks merged by key whichever form each file used), ports keyed by published port (whatever the
/// protocol; every unpublished port shares one key), volumes by target, secrets and configs by source:
/// the later file's items replace all the earlier file's items with the same key; other lists are
/// appended without repeats. A network, volume, secret or config named in both is replaced whole.
/// Where this differs from docker: healthcheck.test is replaced rather than appended; the merged lists
/// keep file order instead of docker's sorting; items of one file that share a key are all kept
/// (docker's map keeps only the last, e.g. one of 8080:80 and 8080:80/udp); and docker appends other
/// lists with repeats. Every node keeps the position it came from.
/// </summary>
internal static class ComposeMerge
{
    private static readonly string[] Replaced = ["command", "entrypoint", "healthcheck.test"];
    private static readonly string[] ByKey = ["environment", "labels", "sysctls", "networks", "deploy.labels"];

    public static MappingNode Files(MappingNode first, MappingNode second)
    {
        var merged = first;
        foreach (var entry in second.Entries)
        {
            var key = entry.Key.Value;
            var value = merged[key] switch
            {
                MappingNode mine when key == "services" && entry.Value is MappingNode theirs => Entries(mine, theirs, static (a, b) => Service(a, b)),
                MappingNode mine when key is "networks" or "volumes" or "secrets" or "configs" && entry.Value is MappingNode theirs => Entries(mine, theirs, static (_, b) => b),
                _ => entry.Value,
            };
            merged = merged.With(key, value, entry.Key);
        }

        return merged;
    }

    private static MappingNode Entries(MappingNode mine, MappingNode theirs, Func<ComposeNode, ComposeNode, ComposeNode> combine)
    {
        var merged = mine;
        foreach (var entry in theirs.Entries)
        {
            merged = merged.With(entry.Key.Value, merged[entry.Key.Value] is { } existing ? combine(existing, entry.Value) : entry.Value, entry.Key);
        }

        return merged;
    }

    private static ComposeNode Service(ComposeNode mine, ComposeNode theirs) =>
        mine is MappingNode a && theirs is MappingNode b ? Mapping(a, b, "") : theirs;

    private static ComposeNode Node(ComposeNode mine, ComposeNode theirs, string path)
    {
        if (ReplacedWhole(path) || theirs is ScalarNode)
        {
            return theirs;
        }

        // mergeLoggingConfig: another driver brings its own options; the same (or an unnamed) one merges them.
        if (path == "logging" && mine is MappingNode { } myLogging && theirs is MappingNode { } theirLogging
            && myLogging["driver"] is ScalarNode { IsNull: false } myDriver && theirLogging["driver"] is ScalarNode { IsNull: false } theirDriver
            && myDriver.Value != theirDriver.Value)
        {
            return theirs;
        }

        if (ByKey.Contains(path))
        {
            return Mapping(AsMapping(mine), AsMapping(theirs), path);
        }

        return (mine, theirs) switch
        {
            (MappingNode a, MappingNode b) => Mapping(a, b, path),
            (SequenceNode a, SequenceNode b) => Sequence(a, b, path),
            _ => theirs,
        };
    }

    /// <summary>command, entrypoint and healthcheck.test; a network's aliases (docker's mergeServiceNetworkConfig) and each ulimit (mergeUlimitsConfig).</summary>
    private static bool ReplacedWhole(string path) =>
        Replaced.Contains(path)
        || (path.StartsWith("networks.", StringComparison.Ordinal) && path.EndsWith(".aliases", StringComparison.Ordinal))
        || (path.StartsWith("ulimits.", StringComparison.Ordinal) && path.Count(c => c == '.') == 1);

    private static MappingNode Mapping(MappingNode mine, MappingNode theirs, string path)
    {
        var merged = mine;
        foreach (var entry in theirs.Entries)
        {
            var key = entry.Key.Value;
            var childPath = path.Length == 0 ? key : $"{path}.{key}";
            merged = merged.With(key, merged[key] is { } existing ? Node(existing, entry.Value, childPath) : entry.Value, entry.Key);
        }

        return merged;
    }

    /// <summary>
    /// Items of the later file replace every item of the earlier one that shares a merge key with them
    /// (the first such in its place, the rest dropped); new ones are appended. Items of one file are
    /// never merged among themselves, so a file says the same whether or not another follows it.
    /// </summary>
    private static SequenceNode Sequence(SequenceNode mine, SequenceNode theirs, string path)
    {
        Func<ComposeNode, IReadOnlySet<string>> keysOf = path switch
        {
            "ports" => PublishedPorts,
            "volumes" => node => One(VolumeTarget(node)),
            "secrets" or "configs" => node => One(node is MappingNode m ? Text(m["source"]) : Text(node)),
            _ => node => One(Text(node)),
        };
        var items = mine.Items.Select(i => (Node: i, Later: false)).ToList();
        foreach (var item in theirs.Items)
        {
            var keys = keysOf(item);
            bool Superseded((ComposeNode Node, bool Later) i) => !i.Later && keysOf(i.Node).Overlaps(keys);
            var at = items.FindIndex(Superseded);
            if (at >= 0)
            {
                items[at] = (item, true);
                items.RemoveAll(Superseded);
            }
            else
            {
                items.Add((item, true));
            }
        }

        return mine with { Items = [.. items.Select(i => i.Node)] };
    }

    private static HashSet<string> One(string key) => new(StringComparer.Ordinal) { key };

    /// <summary>
    /// A port entry's merge keys, as docker's toServicePortConfigsMap keys them: its published ports
    /// ("0" for none), protocol aside; a range gives each of its ports. An entry that does not read
    /// as a port keys by its text (its error comes when the merged file is checked).
    /// </summary>
    private static HashSet<string> PublishedPorts(ComposeNode node)
    {
        if (node is MappingNode longForm)
        {
            return One(longForm["published"] is ScalarNode { IsNull: false } published ? published.Value : "0");
        }

        if (node is ScalarNode scalar && ServiceFlags.PortMappings("", scalar.Value, "") is { IsValid: true } mapped)
        {
            return mapped.Value.Ports.Select(p => p.PublishedPort.ToString(CultureInfo.InvariantCulture)).ToHashSet(StringComparer.Ordinal);
        }

        return One(Text(node));
    }

    /// <summary>A volume entry's container path: "src:/target:ro" or "/target" in short form, target: in long form.</summary>
    private static string VolumeTarget(ComposeNode node) => node switch
    {
        MappingNode m => Text(m["target"]),
        ScalarNode s => s.Value.Split(':') switch
        {
            [var target] => target,
            [_, var target, ..] => target,
            _ => s.Value,
        },
        _ => Text(node),
    };

    /// <summary>A node's text for comparing list items: a scalar's value, a mapping's entries in order.</summary>
    private static string Text(ComposeNode? node) => node switch
    {
        null => "",
        ScalarNode s => s.Value,
        MappingNode m => "{" + string.Join(",", m.Entries.Select(e => e.Key.Value + "=" + Text(e.Value))) + "}",
        SequenceNode l => "[" + string.Join(",", l.Items.Select(Text)) + "]",
        _ => "",
    };

    /// <summary>A "list or dict" as a mapping: "KEY=value" items (or a network's name alone) become KEY: value.</summary>
    private static MappingNode AsMapping(ComposeNode node)
    {
        if (node is MappingNode mapping)
        {
            return mapping;
        }

        if (node is not SequenceNode list)
        {
            return new MappingNode([], node.Mark);
        }

        var entries = ImmutableArray.CreateBuilder<MappingEntry>();
        foreach (var item in list.Items.OfType<ScalarNode>())
        {
            var at = item.Value.IndexOf('=', StringComparison.Ordinal);
            var key = new ScalarNode(at < 0 ? item.Value : item.Value[..at], true, item.Mark);
            ComposeNode value = at < 0
                ? new ScalarNode("", true, item.Mark)
                : new ScalarNode(item.Value[(at + 1)..], false, item.Mark with { Column = item.Mark.Column + at + 1 });
            entries.Add(new MappingEntry(key, value));
        }

        return new MappingNode(entries.ToImmutable(), node.Mark);
    }
}
