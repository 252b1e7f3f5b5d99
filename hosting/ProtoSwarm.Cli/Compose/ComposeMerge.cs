using System.Collections.Immutable;

namespace ProtoSwarm.Cli.Compose;

/// <summary>
/// Several compose files (-c a.yml -c b.yml) made one, later over earlier, as docker's loader merges
/// them: a service named in both is merged key by key (scalars and command/entrypoint replaced,
/// mappings merged, environment/labels/sysctls/networks merged by key whichever form each file
/// used, ports merged as a set, volumes by target, secrets and configs by source, other lists
/// appended without repeats); a network, volume, secret or config named in both is replaced whole.
/// Where this differs from docker: healthcheck.test is replaced rather than appended, and the merged
/// lists keep file order instead of docker's sorting. Every node keeps the position it came from.
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
        if (Replaced.Contains(path) || theirs is ScalarNode)
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

    /// <summary>Items of the later file replace those of the earlier with the same merge key; new ones are appended.</summary>
    private static SequenceNode Sequence(SequenceNode mine, SequenceNode theirs, string path)
    {
        Func<ComposeNode, string> keyOf = path switch
        {
            "volumes" => VolumeTarget,
            "secrets" or "configs" => node => node is MappingNode m ? Text(m["source"]) : Text(node),
            _ => Text,
        };
        var items = mine.Items.ToList();
        foreach (var item in theirs.Items)
        {
            var key = keyOf(item);
            var at = items.FindIndex(i => keyOf(i) == key);
            if (at >= 0)
            {
                items[at] = item;
            }
            else
            {
                items.Add(item);
            }
        }

        return mine with { Items = [.. items] };
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
