using System.Collections.Immutable;
using System.CommandLine;

namespace ProtoSwarm.Cli.Commands;

/// <summary>
/// docker's prune filters, as `network prune` and `container prune` take them: label (every one must match), label!
/// (excluded when every one matches) and until (nothing created after it); and the start both commands share: the until
/// time checked, then docker's prompt unless --force.
/// </summary>
internal static class PruneFilters
{
    public static readonly ImmutableArray<string> Keys = ["label", "label!", "until"];

    /// <summary>The `--filter` option, checked as it is parsed.</summary>
    public static Option<string[]> Option() => new Option<string[]>("--filter")
    {
        Description = "Provide filter values (e.g. \"until=<timestamp>\", label=KEY[=VALUE], label!=KEY[=VALUE])",
        DefaultValueFactory = _ => [],
    }.CheckedBy(Check);

    /// <summary>Why a prune `--filter` cannot be used, or null.</summary>
    public static string? Check(string filter) => Check(filter, Keys);

    /// <summary>
    /// Why a `--filter` of a prune that takes <paramref name="keys"/> (the prune keys and its own) cannot be used, or null: until is
    /// checked here, any other key's value by <paramref name="value"/>.
    /// </summary>
    public static string? Check(string filter, ImmutableArray<string> keys, Func<string, string, string?>? value = null) => ServiceFilter.Check(filter, keys, (key, text) =>
        key == "until"
            ? UntilOf([$"until={text}"], DateTimeOffset.UtcNow).IsValid ? null : "until takes a time (2013-01-02T13:23:37Z, or Unix seconds) or a duration back from now (24h, 30m)"
            : value?.Invoke(key, text));

    /// <summary>The until filter's time (null without one); docker refuses more than one.</summary>
    public static Checked<DateTimeOffset?> UntilOf(IReadOnlyCollection<string> filters, DateTimeOffset now)
    {
        var values = filters.Select(f => f.Split('=', 2)).Where(p => p[0].Trim() == "until").Select(p => p[1]).ToList();
        if (values.Count > 1)
        {
            return Checked<DateTimeOffset?>.Fail($"--filter until= is given {values.Count} times; give at most one (more than one until filter specified).");
        }

        if (values.Count == 0)
        {
            return Checked<DateTimeOffset?>.Ok(null);
        }

        var at = ServiceLogsCommand.Since(values[0], now);
        return at.IsValid
            ? Checked<DateTimeOffset?>.Ok(at.Value)
            : Checked<DateTimeOffset?>.Fail($"--filter 'until={values[0]}': until takes a time (2013-01-02T13:23:37Z, or Unix seconds) or a duration back from now (24h, 30m).");
    }

    /// <summary>
    /// Whether an object with <c>labels</c>, created at <c>created</c>, is kept by the filters: created at or before
    /// <paramref name="until"/> (<see cref="UntilOf"/>'s), carrying every label= term and not every label!= term.
    /// </summary>
    public static Func<ImmutableSortedDictionary<string, string>, DateTimeOffset, bool> Matcher(IReadOnlyCollection<string> filters, DateTimeOffset? until)
    {
        var terms = filters.Select(f => f.Split('=', 2)).ToLookup(p => p[0].Trim(), p => p[1], StringComparer.Ordinal);
        return (labels, created) =>
            (until is null || created <= until)
            && terms["label"].All(l => ServiceFilter.MatchesLabel(labels, l))
            && !(terms["label!"].Any() && terms["label!"].All(l => ServiceFilter.MatchesLabel(labels, l)));
    }

    /// <summary>
    /// A prune's start: the until time to prune by, or the command's exit code when it ends here: 1 for an until docker
    /// refuses (said on stderr), 0 for a "no" at the prompt (docker's "prune has been cancelled": nothing removed, nothing
    /// printed, not a failure).
    /// </summary>
    public static async Task<(int? Exit, DateTimeOffset? Until)> BeginAsync(
        CliApp app, CliContext cli, IReadOnlyCollection<string> filters, bool force, string warning, CancellationToken ct)
    {
        var until = UntilOf(filters, DateTimeOffset.UtcNow);
        if (!until.IsValid)
        {
            await cli.Error.WriteLineAsync(until.Error);
            return (1, null);
        }

        if (!force)
        {
            using var input = new StreamReader(app.StandardInput(), leaveOpen: true);
            if (!await Confirmation.AskAsync(cli, input, warning, ct))
            {
                return (0, null);
            }
        }

        return (null, until.Value);
    }
}
