using System.Globalization;
using System.Text;
using ProtoSwarm.Client.Services;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Output;

/// <summary>
/// The lines `service create/update` shows while it waits, in docker's words: "overall progress:
/// 2 out of 3 tasks", one line per slot ("1/3: running   [=====>]"), then "verify: ...". Each
/// line is "ID: text"; the ID is what a printer redraws in place. Pure.
/// </summary>
internal static class ServiceProgressView
{
    public const int BarWidth = 50;
    public const int ErrorWidth = 75;

    /// <summary>Docker pads state names to its longest ("preparing").</summary>
    private const int StateWidth = 9;

    public static IReadOnlyList<ProgressLine> Lines(ServiceProgress progress)
    {
        var lines = new List<ProgressLine>();
        if (progress.RollingBack && progress.Message.Length > 0)
        {
            lines.Add(new("rollback", progress.Message));
        }

        var counts = string.Create(CultureInfo.InvariantCulture, $"{progress.Done} out of {progress.Desired}");
        lines.Add(progress.Mode is ServiceModeKind.ReplicatedJob or ServiceModeKind.GlobalJob
            ? new("job progress", $"{counts} complete")
            : new("overall progress", progress.RollingBack ? $"rolling back update: {counts} tasks" : $"{counts} tasks"));
        lines.AddRange(progress.Slots.Select(Slot));
        if (progress.VerifyRemaining is { } remaining)
        {
            lines.Add(new("verify", string.Create(CultureInfo.InvariantCulture, $"Waiting {(int)Math.Ceiling(remaining.TotalSeconds)} seconds to verify that tasks are stable...")));
        }
        else if (progress.Verified && progress.State == ConvergenceState.TasksEnded)
        {
            lines.Add(new("verify", progress.Failed > 0 ? Ended(progress) : $"Service converged; {Ended(progress)}"));
        }
        else if (progress.Verified)
        {
            lines.Add(new("verify", "Service converged"));
        }
        else if (progress.State == ConvergenceState.UpdateCompleted)
        {
            // The managers settled the update with tasks that do not run (failures --update-failure-action continue or
            // --update-max-failure-ratio let pass): waiting ends, and its last line says so rather than a slot's.
            var state = progress.Message.Length > 0 ? progress.Message : "update completed";
            lines.Add(new("verify", string.Create(CultureInfo.InvariantCulture, $"{state}; {progress.Done} out of {progress.Desired} tasks running")));
        }
        else if (progress.FailureDetected)
        {
            lines.Add(new("verify", "Detected task failure"));
        }
        else if (progress.State == ConvergenceState.JobComplete)
        {
            lines.Add(new("verify", "job complete"));
        }

        return lines;
    }

    public static ProgressLine Slot(SlotProgress slot)
    {
        if (slot.State is not { } state)
        {
            return new(slot.Label, string.Empty, IsSlot: true);
        }

        var name = state.ToString().ToLowerInvariant();
        if (slot.Error.Length > 0)
        {
            return new(slot.Label, $"{name.PadRight(StateWidth)} {Truncate(slot.Error)}", IsSlot: true);
        }

        return state > TaskState.Running
            ? new(slot.Label, name, IsSlot: true)
            : new(slot.Label, $"{name.PadRight(StateWidth)} {Bar(state)}", IsSlot: true);
    }

    /// <summary>Docker's bar: the task's step of nine (new 1 ... running 9, as docker numbers them) out of 50 characters.</summary>
    public static string Bar(TaskState state)
    {
        var step = state switch
        {
            TaskState.New => 1,
            TaskState.Pending => 3,
            TaskState.Assigned => 4,
            TaskState.Accepted => 5,
            TaskState.Preparing => 6,
            TaskState.Ready => 7,
            TaskState.Starting => 8,
            _ => 9,
        };
        var filled = step * 100 / 9 / 2;
        return "[" + new string('=', filled) + ">" + new string(' ', BarWidth - filled) + "]";
    }

    /// <summary>
    /// What ends a wait as a failure: the update status message, as docker says it. A rollback the
    /// caller did not ask for is one whether or not its tasks converged; an update the managers
    /// completed (<see cref="ConvergenceState.UpdateCompleted"/>) is not. A job that cannot complete is,
    /// and so is a service whose tasks ended for good with a failure among them (its restart policy
    /// will not try again); one whose tasks all exited cleanly did what it was told.
    /// </summary>
    public static string? Failure(ServiceProgress progress, bool rollbackRequested) => progress.State switch
    {
        ConvergenceState.UpdatePaused => $"service update paused: {progress.Message}",
        ConvergenceState.RollbackPaused => $"service rollback paused: {progress.Message}",
        ConvergenceState.JobFailed => progress.Message,
        ConvergenceState.TasksEnded when progress.Failed > 0 => $"service {progress.ServiceName}: {Ended(progress)}; see `protoswarm service ps {progress.ServiceName}`",
        ConvergenceState.RolledBack or ConvergenceState.RollbackCompleted when !rollbackRequested => $"service rolled back: {progress.Message}",
        _ => null,
    };

    /// <summary>What became of the tasks that ended for good: the failures if any (they are what the operator must see), else the clean exits.</summary>
    private static string Ended(ServiceProgress progress) => progress.Failed > 0
        ? string.Create(CultureInfo.InvariantCulture, $"{progress.Failed} of {progress.Desired} tasks failed and their restart policy will not start them again")
        : string.Create(CultureInfo.InvariantCulture, $"{progress.Ended} of {progress.Desired} tasks completed and their restart policy will not start them again");

    private static string Truncate(string error)
    {
        var text = error.Replace('\n', ' ');
        return text.Length > ErrorWidth ? text[..(ErrorWidth - 1)] + "…" : text;
    }
}

/// <summary>One progress line: its ID ("overall progress", "1/3", "verify") and what follows "ID: "; <paramref name="IsSlot"/> for a slot's (or node's) line.</summary>
internal sealed record ProgressLine(string Id, string Text, bool IsSlot = false)
{
    public override string ToString() => Text.Length > 0 ? $"{Id}: {Text}" : $"{Id}: ";
}

/// <summary>
/// Prints progress as it changes. On a terminal the block of lines is redrawn in place (cursor up,
/// clear line). Elsewhere (a log, a pipe) each change is printed once: the summary lines when their text
/// changed, and a slot's line only the first time it reads so. A slot whose tasks keep failing the same
/// way (an image no node has: rejected, a new task, preparing, rejected again) would otherwise print the
/// same few lines for as long as the command waits; its first round says all there is.
/// </summary>
internal sealed class ProgressPrinter(TextWriter output, bool terminal) : IProgress<ServiceProgress>
{
    private readonly Dictionary<string, string> _shown = new(StringComparer.Ordinal);
    private readonly HashSet<(string Id, string Text)> _slotLines = [];
    private int _drawn;

    public ServiceProgress? Last { get; private set; }

    public void Report(ServiceProgress value)
    {
        Last = value;
        Write(ServiceProgressView.Lines(value));
    }

    public void Write(IReadOnlyList<ProgressLine> lines)
    {
        var text = new StringBuilder();
        if (terminal)
        {
            if (_drawn > 0)
            {
                text.Append(CultureInfo.InvariantCulture, $"\u001b[{_drawn}A");
            }

            foreach (var line in lines)
            {
                text.Append("\u001b[2K").Append(line).Append('\n');
            }

            _drawn = lines.Count;
        }
        else
        {
            foreach (var line in lines)
            {
                var shown = line.ToString().TrimEnd();
                if (line.IsSlot ? _slotLines.Add((line.Id, shown)) : !_shown.TryGetValue(line.Id, out var before) || before != shown)
                {
                    _shown[line.Id] = shown;
                    text.Append(shown).Append('\n');
                }
            }
        }

        output.Write(text.ToString());
        output.Flush();
    }
}
