using System.CommandLine;
using System.Globalization;
using ProtoSwarm.Cli.Output;
using ProtoSwarm.Client;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Commands;

/// <summary>`protoswarm service logs`, with docker's flags (no --details: the nodes keep no log attributes).</summary>
internal static class ServiceLogsCommand
{
    public static Command Create(CliApp app)
    {
        var follow = new Option<bool>("--follow", "-f") { Description = "Follow log output" };
        var tail = new Option<string>("--tail", "-n")
        {
            Description = "Number of lines to show from the end of the logs of each task, or all",
            DefaultValueFactory = _ => "all",
        }.CheckedBy(v => Tail(v).Error);
        var since = new Option<string?>("--since")
        {
            Description = "Show logs since timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)",
        }.CheckedBy(v => Since(v, DateTimeOffset.UtcNow).Error);
        var timestamps = new Option<bool>("--timestamps", "-t") { Description = "Show timestamps" };
        var noTaskIds = new Option<bool>("--no-task-ids") { Description = "Do not include task IDs in output" };
        var noTrunc = new Option<bool>("--no-trunc") { Description = "Do not truncate output" };
        var noResolve = new Option<bool>("--no-resolve") { Description = "Do not map IDs to Names in output" };
        var raw = new Option<bool>("--raw") { Description = "Do not neatly format logs" };
        var target = new Argument<string>("SERVICE|TASK") { Description = "A service (id, id prefix or name) or a task (id or id prefix)" }
            .CheckedBy(v => v.Trim().Length == 0 ? "Name a service (id, id prefix or name) or a task (id or id prefix); got an empty name." : null);
        var command = new Command("logs", "Fetch the logs of a service or task").With(follow, tail, since, timestamps, noTaskIds, noTrunc, noResolve, raw, target);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var view = new LogView(new LogOptions(parse.GetValue(timestamps), parse.GetValue(noTaskIds), parse.GetValue(noTrunc), parse.GetValue(raw), parse.GetValue(noResolve)));
            var typed = parse.GetRequiredValue(target).Trim();
            var lines = Tail(parse.GetValue(tail) ?? "all").Value;
            var from = parse.GetValue(since) is { } s ? Since(s, DateTimeOffset.UtcNow).Value : (DateTimeOffset?)null;
            var services = cli.Swarm.Services;
            services.LogPollInterval = app.LogPollInterval;
            if (!parse.GetValue(follow))
            {
                return await PrintAllAsync(cli, view, services, typed, lines, from, ct);
            }

            return await FollowAsync(cli, view, services, typed, lines, from, ct);
        });
        return command;
    }

    /// <summary>
    /// Prints the answer page by page (each page is printed as it comes, so a long log starts at once and
    /// nothing holds it whole), asking again with the cursors while the managers say there is more. Exit 1
    /// when a warning said some lines could not be read and none was printed: nothing to show is then a failure,
    /// not an empty log.
    /// </summary>
    private static async Task<int> PrintAllAsync(CliContext cli, LogView view, SwarmClient.ServicesApi services, string typed, int? lines, DateTimeOffset? from, CancellationToken ct)
    {
        var cursors = new Dictionary<string, long>(StringComparer.Ordinal);
        var warned = new HashSet<string>(StringComparer.Ordinal);
        var printed = false;
        var logs = await services.LogsAsync(typed, lines, since: from, ct: ct);
        while (true)
        {
            warned.UnionWith(await PrintAsync(cli, view, logs, warned, ct));
            printed |= !logs.Entries.IsEmpty;
            if (!logs.More || !Advance(cursors, logs))
            {
                return printed || warned.Count == 0 ? 0 : 1;
            }

            logs = await services.LogsAsync(typed, null, cursors, from, ct);
        }
    }

    /// <summary>Takes an answer's cursors; false when none moved (a page that gave nothing would be asked for forever).</summary>
    private static bool Advance(Dictionary<string, long> cursors, ServiceLogs logs)
    {
        var moved = false;
        foreach (var (taskId, sequence) in logs.Cursors)
        {
            moved |= !cursors.TryGetValue(taskId, out var before) || before != sequence;
            cursors[taskId] = sequence;
        }

        return moved;
    }

    /// <summary>
    /// Polls until Ctrl-C (exit 130, as the other waits). A manager that cannot answer for a while (an
    /// election) is said once and asked again; any other refusal ends the command.
    /// </summary>
    private static async Task<int> FollowAsync(CliContext cli, LogView view, SwarmClient.ServicesApi services, string typed, int? lines, DateTimeOffset? from, CancellationToken ct)
    {
        var warned = new HashSet<string>(StringComparer.Ordinal);
        var cursors = new Dictionary<string, long>(StringComparer.Ordinal);
        var first = true;
        string? unavailable = null;
        try
        {
            while (true)
            {
                try
                {
                    var logs = await services.LogsAsync(typed, first ? FirstTail(lines) : null, cursors, from, ct);
                    if (first && lines == 0)
                    {
                        logs = logs with { Entries = [] };
                    }

                    first = false;
                    unavailable = null;
                    var moved = Advance(cursors, logs);
                    warned = await PrintAsync(cli, view, logs, warned, ct);
                    if (logs.More && moved)
                    {
                        // A page of a long log: the rest is asked for at once, not after a poll's pause.
                        continue;
                    }
                }
                catch (SwarmCommandException e) when (e.Code == RejectCode.Unavailable)
                {
                    if (unavailable != e.Message)
                    {
                        unavailable = e.Message;
                        await cli.Error.WriteLineAsync($"Warning: {e.Message} (still following)");
                    }
                }

                await Task.Delay(services.LogPollInterval, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return 130;
        }
    }

    /// <summary>
    /// What a follow's first ask sends as its tail. An answer carries a task's cursor only with a
    /// line of it, so --tail 0 would learn none and the next ask (no tail, no cursor) would print the
    /// whole history: the last line of each task is asked for instead, only for its cursor, and not printed.
    /// </summary>
    private static int? FirstTail(int? lines) => lines == 0 ? 1 : lines;

    /// <summary>Prints the lines (stderr's on stderr) and the warnings not printed last time; returns this answer's warnings.</summary>
    private static async Task<HashSet<string>> PrintAsync(CliContext cli, LogView view, ServiceLogs logs, HashSet<string> warnedBefore, CancellationToken ct)
    {
        var warnings = logs.Warnings.ToHashSet(StringComparer.Ordinal);
        foreach (var warning in logs.Warnings.Where(w => !warnedBefore.Contains(w)))
        {
            await cli.Error.WriteLineAsync($"Warning: {warning}");
        }

        if (logs.Entries.IsEmpty)
        {
            return warnings;
        }

        if (!view.Options.Raw && !view.Knows(logs))
        {
            view.Learn(await cli.Swarm.Services.TasksAsync([logs.ServiceId], ct: ct));
        }

        foreach (var entry in logs.Entries)
        {
            await (entry.Stream == LogStream.Stderr ? cli.Error : cli.Out).WriteLineAsync(view.Format(logs.ServiceId, entry));
        }

        return warnings;
    }

    /// <summary>"all" or a whole number of lines.</summary>
    public static Checked<int?> Tail(string value)
    {
        var trimmed = value.Trim();
        if (trimmed.Equals("all", StringComparison.OrdinalIgnoreCase))
        {
            return Checked<int?>.Ok(null);
        }

        // A negative count is all of it, as docker's.
        return int.TryParse(trimmed, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
            ? Checked<int?>.Ok(n < 0 ? null : n)
            : Checked<int?>.Fail($"--tail '{value}' is not a number of lines; give 0 or more, e.g. --tail 20, or --tail all.");
    }

    /// <summary>
    /// `--since` (and the `until=` filters) as docker reads them: <see cref="DockerTimestamp"/>'s times, durations and
    /// Unix seconds; a time without a zone is in <paramref name="zone"/> (the local one unless a test says).
    /// </summary>
    public static Checked<DateTimeOffset> Since(string value, DateTimeOffset now, TimeZoneInfo? zone = null) =>
        DockerTimestamp.At(value, now, zone) is { } at
            ? Checked<DateTimeOffset>.Ok(at)
            : Checked<DateTimeOffset>.Fail($"--since '{value}' is neither a time nor a duration; give e.g. 2013-01-02T13:23:37Z, 1700000000 (Unix seconds) or 42m (42 minutes ago).");
}
