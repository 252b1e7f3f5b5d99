using System.Text.Json.Nodes;
using ProtoSwarm.Cli.Output;
using ProtoSwarm.Client;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Commands;

/// <summary>What the commands taking several names share: one request per name, and the check of an inspect template.</summary>
internal static class PerItem
{
    /// <summary>
    /// One request per name, as docker does: a failure is reported and the rest still run; the exit
    /// code is 1 if any failed. An unreachable node host ends the loop at once (its exception goes on).
    /// </summary>
    public static async Task<int> ForEachAsync(CliContext cli, IEnumerable<string> names, Func<string, Task> each)
    {
        var failed = false;
        foreach (var name in names)
        {
            try
            {
                await each(name);
            }
            catch (SwarmCommandException e) when (e.Code != RejectCode.Unavailable)
            {
                await cli.Error.WriteLineAsync($"Error: {e.Message}");
                failed = true;
            }
            catch (DaemonRefusal e)
            {
                await cli.Error.WriteLineAsync($"Error response from daemon: {e.Message}");
                failed = true;
            }
        }

        return failed ? 1 : 0;
    }

    /// <summary>
    /// A refusal of one item that docker's daemon words (`network rm bridge`: "Error response from daemon: bridge is a
    /// pre-defined network and cannot be removed"), printed in its words where the CLI decides it without asking.
    /// </summary>
    public sealed class DaemonRefusal(string message) : Exception(message);

    /// <summary>
    /// `inspect` output as docker prints it: all the objects as one indented JSON array, with `--format json` as one
    /// compact array on a line, else each object through the Go template, a line each.
    /// </summary>
    public static string Inspected<T>(IEnumerable<T> found, Func<T, JsonObject> view, string? template) => template switch
    {
        null => Json.IndentedArray(found.Select(item => (JsonNode)view(item))),
        "json" => Json.CompactArray(found.Select(item => (JsonNode)view(item))),
        _ => string.Concat(found.Select(item => GoTemplate.Parse(template).Execute(view(item)) + "\n")),
    };

    /// <summary>Why an `inspect --format` template cannot be used with these fields, or null when it can.</summary>
    public static string? InspectFormatError(string format, IReadOnlyCollection<string> fields)
    {
        try
        {
            return GoTemplate.Parse(format).CheckFields(fields);
        }
        catch (FormatException e)
        {
            return e.Message;
        }
    }
}
