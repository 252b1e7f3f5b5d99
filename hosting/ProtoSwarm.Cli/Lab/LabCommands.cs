using System.CommandLine;

namespace ProtoSwarm.Cli.Lab;

/// <summary>`protoswarm lab`: a multi-node swarm on this machine, one network namespace per node.</summary>
public static class LabCommands
{
    public static Command Create()
    {
        var lab = new Command("lab", "Run a multi-node swarm on this machine, one network namespace per node");
        lab.Subcommands.Add(Up());
        lab.Subcommands.Add(Ls());
        lab.Subcommands.Add(Exec());
        lab.Subcommands.Add(Stop());
        lab.Subcommands.Add(Start());
        lab.Subcommands.Add(Down());
        lab.Subcommands.Add(Forward());
        return lab;
    }

    private static Command Up()
    {
        var name = NameOption();
        var managers = new Option<int>("--managers") { Description = "Number of manager nodes (m1..mM)", DefaultValueFactory = _ => 1 };
        var workers = new Option<int>("--workers") { Description = "Number of worker nodes (w1..wW)", DefaultValueFactory = _ => 0 };
        var daemon = new Option<string?>("--daemon") { Description = "protoswarmd to run (default: $PROTOSWARMD, next to this CLI, or on PATH)" };
        var snapshotInterval = new Option<ulong>("--snapshot-interval") { Description = "Raft log entries between snapshots, as `swarm init --snapshot-interval` (default 10000)" };
        var executor = new Option<string>("--executor") { Description = "What runs the nodes' tasks: linux (real containers) or fake (the test executor, no process)", DefaultValueFactory = _ => LabPlan.DefaultExecutor };
        executor.AcceptOnlyFromAmong("linux", "fake");
        var engineLabels = new Option<string[]>("--engine-label")
        {
            Description = "An engine label for one node's protoswarmd (its --label), NODE:KEY=VALUE, e.g. w1:disk=ssd (repeatable)",
            AllowMultipleArgumentsPerToken = false,
        };
        var command = new Command("up", "Create a lab: a namespace per node on a bridge, a protoswarmd in each, one swarm")
        {
            name, managers, workers, daemon, snapshotInterval, executor, engineLabels,
        };
        SetAction(command, async (r, ct) =>
        {
            var labName = ValidName(r, name);
            var plan = LabPlan.Create(labName, r.GetValue(managers), r.GetValue(workers)).WithEngineLabels(r.GetValue(engineLabels) ?? []);
            var state = await LabUp.RunAsync(plan, DaemonLocator.Locate(r.GetValue(daemon)), r.GetValue(executor)!, Console.Out, r.GetValue(snapshotInterval), ct);
            await Console.Out.WriteLineAsync($"Lab '{labName}' is up: {plan.Nodes.Count} node(s) in one swarm. Try `protoswarm lab exec m1 --name {labName} -- protoswarm node ls`.");
            await Console.Out.WriteAsync(LabTable.Format(Rows(state)));
            return 0;
        });
        return command;
    }

    private static Command Ls()
    {
        var name = NameOption();
        var format = new Option<string?>("--format") { Description = "json: one JSON object a line" };
        format.AcceptOnlyFromAmong("json");
        var command = new Command("ls", "List the nodes of a lab") { name, format };
        SetAction(command, async (r, _) =>
        {
            var state = LabState.Load(LabPlan.DefaultRoot, ValidName(r, name));
            var rows = Rows(state);
            var forwards = LabForwardRecord.LoadAll(LabPlan.DefaultRoot, state.Name).Where(f => f.IsRunning).ToList();
            await Console.Out.WriteAsync(r.GetValue(format) == "json" ? LabTable.FormatJson(LabTable.WithForwards(rows, forwards)) : LabTable.Format(rows));
            if (r.GetValue(format) != "json" && forwards.Count > 0)
            {
                await Console.Out.WriteAsync("\n" + LabTable.FormatForwards(forwards));
            }

            return 0;
        });
        return command;
    }

    private static Command Exec()
    {
        var name = NameOption();
        var node = new Argument<string>("node") { Description = "The node, e.g. m1 or w2" };
        var cmd = new Argument<string[]>("command") { Description = "The command to run, after --", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("exec", "Run a command in a node's network namespace, with PROTOSWARM_CONTROL_SOCKET set to that node's")
        {
            name, node, cmd,
        };
        SetAction(command, (r, _) =>
        {
            var state = LabState.Load(LabPlan.DefaultRoot, ValidName(r, name));
            return LabNodeControl.ExecAsync(state, r.GetValue(node)!, r.GetValue(cmd) ?? []);
        });
        return command;
    }

    private static Command Stop()
    {
        var name = NameOption();
        var node = new Argument<string>("node") { Description = "The node, e.g. w1" };
        var kill = new Option<bool>("--kill") { Description = "SIGKILL instead of SIGTERM, as a crash would" };
        var command = new Command("stop", "Stop one node's protoswarmd (SIGTERM, or SIGKILL with --kill) and wait until it has exited") { name, node, kill };
        SetAction(command, async (r, ct) =>
        {
            var labName = ValidName(r, name);
            await LabNodeControl.StopAsync(LabPlan.DefaultRoot, LabState.Load(LabPlan.DefaultRoot, labName), r.GetValue(node)!, r.GetValue(kill), Console.Out, ct);
            return 0;
        });
        return command;
    }

    private static Command Start()
    {
        var name = NameOption();
        var node = new Argument<string>("node") { Description = "The node, e.g. w1" };
        var engineLabels = new Option<string[]>("--engine-label")
        {
            Description = "Start it with these engine labels (its --label), KEY=VALUE, instead of those it had (repeatable)",
            AllowMultipleArgumentsPerToken = false,
        };
        var command = new Command("start", "Start one node's protoswarmd again with its state dir and wait until it answers") { name, node, engineLabels };
        SetAction(command, async (r, ct) =>
        {
            var labName = ValidName(r, name);
            await LabNodeControl.StartAsync(LabPlan.DefaultRoot, LabState.Load(LabPlan.DefaultRoot, labName), r.GetValue(node)!, Console.Out, ct,
                r.GetValue(engineLabels) is { Length: > 0 } labels ? labels : null);
            return 0;
        });
        return command;
    }

    private static Command Down()
    {
        var name = NameOption();
        var command = new Command("down", "Remove a lab: its processes, namespaces, links, mounts and state, even if half-made") { name };
        SetAction(command, async (r, ct) =>
        {
            var labName = ValidName(r, name);
            var report = await LabTeardown.RunAsync(LabPlan.DefaultRoot, labName, ct);
            if (report.FoundAnything)
            {
                await Console.Out.WriteLineAsync(
                    $"Lab '{labName}' removed: {report.Processes} process(es), {report.Namespaces} namespace(s), {report.Mounts} mount(s), {report.Cgroups} container cgroup(s) and its state dir.");
            }

            return 0;
        });
        return command;
    }

    private static Command Forward()
    {
        var name = NameOption();
        var nodes = new Option<string[]>("--node") { Description = "Forward to this node only (repeatable; default: every node of the lab, in turn)", AllowMultipleArgumentsPerToken = false };
        var detach = new Option<bool>("--detach", "-d") { Description = "Run in the background (its log in the lab's state dir) until `lab down`; return once it listens" };
        var ports = new Argument<string[]>("port") { Description = "PORT or PORT:NODEPORT: listen on 127.0.0.1:PORT, connect to NODEPORT on the nodes", Arity = ArgumentArity.OneOrMore };
        var command = new Command("forward", "Reach a lab's published ports from this machine's loopback: 127.0.0.1:PORT to the nodes in turn")
        {
            name, nodes, detach, ports,
        };
        SetAction(command, async (r, ct) =>
        {
            var forwards = PortForward.ParseAll(r.GetValue(ports) ?? []);
            var state = LabState.Load(LabPlan.DefaultRoot, ValidName(r, name));
            var chosen = r.GetValue(nodes) ?? [];
            var targets = LabForward.Targets(state, chosen);
            if (!r.GetValue(detach))
            {
                await LabForward.RunAsync(LabPlan.DefaultRoot, state, forwards, targets, Console.Out, ct);
                return 0;
            }

            var (pid, log) = await LabForward.StartDetachedAsync(LabPlan.DefaultRoot, state, chosen, forwards, ct);
            var record = LabForwardRecord.LoadAll(LabPlan.DefaultRoot, state.Name).First(f => f.Pid == pid);
            await Console.Out.WriteLineAsync(
                $"Forwarding {record.PortsText} to {string.Join(", ", targets.Select(t => t.Node))}{(targets.Count > 1 ? " in turn" : "")} (pid {pid}, log {log}); `protoswarm lab down --name {state.Name}` stops it.");
            return 0;
        });
        return command;
    }

    private static Option<string> NameOption() =>
        new("--name") { Description = "Which lab", DefaultValueFactory = _ => LabNames.DefaultLab };

    private static string ValidName(ParseResult result, Option<string> option)
    {
        var name = result.GetValue(option) ?? LabNames.DefaultLab;
        return LabNames.ValidateLabName(name) is { } problem ? throw new LabException(problem) : name;
    }

    private static List<LabNodeRow> Rows(LabState state) =>
        state.Nodes.Select(n => LabTable.Row(n, LabProcesses.IsDaemonOf(n.Pid, n.StateDir))).ToList();

    /// <summary>A <see cref="LabException"/> is the user's problem to fix: one sentence on stderr, exit 1.</summary>
    private static void SetAction(Command command, Func<ParseResult, CancellationToken, Task<int>> action) =>
        command.SetAction(async (r, ct) =>
        {
            try
            {
                return await action(r, ct);
            }
            catch (LabException e)
            {
                await Console.Error.WriteLineAsync($"protoswarm lab {command.Name}: {e.Message}");
                return 1;
            }
        });
}
