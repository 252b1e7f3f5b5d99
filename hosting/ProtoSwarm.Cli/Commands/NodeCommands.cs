using System.Collections.Immutable;
using System.CommandLine;
using ProtoSwarm.Cli.Output;
using ProtoSwarm.Client;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Commands;

/// <summary>`protoswarm node ls|inspect|promote|demote|update|rm`, with docker's flags and output.</summary>
internal static class NodeCommands
{
    public static Command Create(CliApp app) =>
        new Command("node", "Manage swarm nodes").With(List(app), Inspect(app), Tasks(app), Promote(app), Demote(app), Update(app), Remove(app));

    private static Command List(CliApp app)
    {
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Only display IDs" };
        var format = new Option<string?>("--format")
        {
            Description = "Format output: table (default), json, or a Go template such as '{{.ID}}\\t{{.Hostname}}'",
        }.CheckedBy(v => ListingFormat.Check(v, NodeView.Columns.Keys.ToList()));
        var filter = new Option<string[]>("--filter", "-f")
        {
            Description = $"Filter output based on conditions provided ({string.Join(", ", NodeFilter.Keys)})",
            DefaultValueFactory = _ => [],
        }.CheckedBy(NodeFilter.Check);
        var command = new Command("ls", "List nodes in the swarm").With(quiet, format, filter);
        command.Aliases.Add("list");
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var listing = ListingFormat.Parse(parse.GetValue(format), parse.GetValue(quiet), NodeView.Columns.Keys.ToList(), out _)!;
            var nodeFilter = NodeFilter.Parse(parse.GetValue(filter) ?? []).Value;
            var list = await cli.RequestAsync<NodeList>(new ListNodes(SwarmIds.NewRequestId()), Timeouts.Query, ct);
            var selfId = parse.GetValue(quiet) ? null : (await cli.InfoAsync(ct)).NodeId;
            var rows = NodeView.Sorted(list.Nodes.Where(nodeFilter.Matches)).Select(n => NodeView.Row(n, selfId, list.ClusterTlsInfo)).ToList();
            await cli.Out.WriteAsync(listing.Render(rows.Select(NodeView.ToJson).ToList(), () => NodeView.Table(rows), NodeView.Columns));
            return 0;
        });
        return command;
    }

    private static Command Inspect(CliApp app)
    {
        var pretty = new Option<bool>("--pretty") { Description = "Print the information in a human friendly format" };
        var format = new Option<string?>("--format", "-f")
        {
            Description = "Format output using a Go template, such as '{{.Status.Addr}}'",
        }.CheckedBy(f => PerItem.InspectFormatError(f, NodeView.InspectFields));
        var nodes = CommandSetup.NodeRefs("self, or a node's id, id prefix or hostname");
        var command = new Command("inspect", "Display detailed information on one or more nodes").With(pretty, format, nodes);
        command.Validators.Add(result =>
        {
            if (result.GetValue(pretty) && result.GetValue(format) is not null)
            {
                result.AddError("--format cannot be combined with --pretty, which has a format of its own.");
            }
        });
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var found = new List<NodeObject>();
            var status = await ForEachNode(cli, parse.GetRequiredValue(nodes), async (nodeRef, _) =>
                found.Add((await cli.RequestAsync<NodeDetails>(new InspectNode(SwarmIds.NewRequestId(), nodeRef), Timeouts.Query, ct)).Node), ct);
            await cli.Out.WriteAsync(parse.GetValue(pretty)
                ? string.Join("\n", found.Select(NodeView.Pretty))
                : PerItem.Inspected(found, NodeView.Inspect, parse.GetValue(format)));
            return status;
        });
        return command;
    }

    private static Command Promote(CliApp app)
    {
        var nodes = CommandSetup.NodeRefs("The nodes to promote to managers");
        var command = new Command("promote", "Promote one or more nodes to manager in the swarm").With(nodes);
        app.SetAction(command, (parse, cli, ct) => ForEachNode(cli, parse.GetRequiredValue(nodes), async (nodeRef, typed) =>
        {
            var ack = await cli.RequestAsync<NodeUpdateAck>(new PromoteNode(SwarmIds.NewRequestId(), nodeRef), Timeouts.Change, ct);
            await cli.Out.WriteLineAsync(AsTyped(ack, typed, $"Node {typed} promoted to a manager in the swarm."));
        }, ct));
        return command;
    }

    private static Command Demote(CliApp app)
    {
        var nodes = CommandSetup.NodeRefs("The managers to demote to workers");
        var command = new Command("demote", "Demote one or more nodes from manager in the swarm").With(nodes);
        app.SetAction(command, (parse, cli, ct) => ForEachNode(cli, parse.GetRequiredValue(nodes), async (nodeRef, typed) =>
        {
            var ack = await cli.RequestAsync<NodeUpdateAck>(new DemoteNode(SwarmIds.NewRequestId(), nodeRef), Timeouts.Change, ct);
            await cli.Out.WriteLineAsync(AsTyped(ack, typed, $"Manager {typed} demoted in the swarm."));
        }, ct));
        return command;
    }

    /// <summary>The manager's message with the node as the operator named it, as docker prints it ("Node m3 ..."), not its id.</summary>
    private static string AsTyped(NodeUpdateAck ack, string typed, string otherwise) =>
        ack.Message.Length == 0 ? otherwise
        : ack.Node.Id.Length > 0 ? ack.Message.Replace(ack.Node.Id, typed, StringComparison.Ordinal)
        : ack.Message;

    private static Command Update(CliApp app)
    {
        var role = new Option<string?>("--role")
        {
            Description = "Role of the node (\"worker\", \"manager\"): as node demote / node promote, with their checks",
        }.CheckedBy(v => ArgumentRules.Role(v).Error is { } problem ? $"--role {problem}" : null);
        var availability = new Option<string?>("--availability")
        {
            Description = "Availability of the node (\"active\", \"pause\", \"drain\")",
        }.CheckedBy(v => ArgumentRules.Availability(v).Error);
        var labelAdd = new Option<string[]>("--label-add")
        {
            Description = "Add or update a node label (key=value, or key alone for an empty value); repeat for several",
            DefaultValueFactory = _ => [],
        }.CheckedBy(v => ArgumentRules.LabelAdd(v).Error);
        var labelRemove = new Option<string[]>("--label-rm")
        {
            Description = "Remove a node label if exists; repeat for several",
            DefaultValueFactory = _ => [],
        }.CheckedBy(v => ArgumentRules.LabelRemove(v).Error);
        var node = new Argument<string>("NODE") { Description = "self, or a node's id, id prefix or hostname" }
            .CheckedBy(v => ArgumentRules.NodeRef(v).Error);
        var command = new Command("update", "Update a node").With(role, availability, labelAdd, labelRemove, node);
        command.Validators.Add(result =>
        {
            if (result.GetValue(role) is null && result.GetValue(availability) is null && result.GetValue(labelAdd) is not { Length: > 0 } &&
                result.GetValue(labelRemove) is not { Length: > 0 })
            {
                result.AddError("node update: nothing to change; give --role, --availability, --label-add or --label-rm.");
            }
        });
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var typed = parse.GetRequiredValue(node);
            var request = new UpdateNode(
                SwarmIds.NewRequestId(),
                await cli.ResolveNodeRefAsync(ArgumentRules.NodeRef(typed).Value, ct),
                parse.GetValue(availability) is { } a ? ArgumentRules.Availability(a).Value : null,
                (parse.GetValue(labelAdd) ?? []).Select(l => ArgumentRules.LabelAdd(l).Value)
                    .Aggregate(ImmutableSortedDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal), (d, kv) => d.SetItem(kv.Key, kv.Value)),
                [.. (parse.GetValue(labelRemove) ?? []).Select(l => ArgumentRules.LabelRemove(l).Value)],
                parse.GetValue(role) is { } r ? ArgumentRules.Role(r).Value : null);
            await cli.RequestAsync<NodeUpdateAck>(request, Timeouts.Change, ct);
            await cli.Out.WriteLineAsync(typed);
            return 0;
        });
        return command;
    }

    /// <summary>`node ps [NODE...]`: the tasks on those nodes, or on this one ("self", as docker).</summary>
    private static Command Tasks(CliApp app)
    {
        var nodes = new Argument<string[]>("NODE") { Description = "The nodes whose tasks to list (default: self)", Arity = ArgumentArity.ZeroOrMore }
            .CheckedBy(v => ArgumentRules.NodeRef(v).Error);
        return ServiceCommands.TaskListCommand(app, "List tasks running on one or more nodes, defaults to current node", nodes, async (refs, cli, ct) =>
        {
            var named = new List<string>();
            foreach (var nodeRef in refs is not { Length: > 0 } ? ["self"] : refs)
            {
                named.Add(await cli.ResolveNodeRefAsync(nodeRef, ct));
            }

            return await cli.Swarm.Services.TasksAsync(nodeRefs: named, ct: ct);
        });
    }

    private static Command Remove(CliApp app)
    {
        var force = new Option<bool>("--force", "-f") { Description = "Force remove a node from the swarm" };
        var nodes = CommandSetup.NodeRefs("The nodes to remove");
        var command = new Command("rm", "Remove one or more nodes from the swarm").With(force, nodes);
        command.Aliases.Add("remove");
        app.SetAction(command, (parse, cli, ct) => ForEachNode(cli, parse.GetRequiredValue(nodes), async (nodeRef, typed) =>
        {
            await cli.RequestAsync<RemoveNodeAck>(new RemoveNode(SwarmIds.NewRequestId(), nodeRef, parse.GetValue(force)), Timeouts.Change, ct);
            await cli.Out.WriteLineAsync(typed);
        }, ct));
        return command;
    }

    /// <summary>
    /// Runs one request per node as docker does: a node that fails is reported and the rest still
    /// run; the exit code is 1 if any failed. An unreachable node host ends the loop at once.
    /// </summary>
    private static async Task<int> ForEachNode(CliContext cli, IEnumerable<string> refs, Func<string, string, Task> each, CancellationToken ct)
    {
        var failed = false;
        foreach (var typed in refs)
        {
            try
            {
                await each(await cli.ResolveNodeRefAsync(ArgumentRules.NodeRef(typed).Value, ct), typed);
            }
            catch (SwarmCommandException e) when (e.Code != RejectCode.Unavailable)
            {
                await cli.Error.WriteLineAsync($"Error: {e.Message}");
                failed = true;
            }
        }

        return failed ? 1 : 0;
    }
}
