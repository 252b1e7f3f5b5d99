using System.CommandLine;
using ProtoSwarm.Cli.Output;
using ProtoSwarm.Client;
using ProtoSwarm.Cli.Control;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Commands;

/// <summary>
/// `protoswarm events` (and `system events`), docker's `docker events`: what the node host sees happen, streamed over its
/// control socket as `container logs -f` streams, or over `-H tcp://` by a subscription actor on the manager reached
/// (<see cref="RemoteManagerConnection"/>). Filters and formats are applied here, the same for both. A manager tells the swarm's services, nodes, secrets, configs and
/// networks being created, updated and removed (scope swarm); a worker has no store, so it tells none of those.
/// </summary>
internal static class EventsCommand
{
    public static Command Create(CliApp app)
    {
        var since = new Option<string?>("--since") { Description = "Show all events created since timestamp" }
            .CheckedBy(v => DockerTimestamp.Parse("--since", v, DateTimeOffset.UtcNow).Error);
        var until = new Option<string?>("--until") { Description = "Stream events until this timestamp" }
            .CheckedBy(v => DockerTimestamp.Parse("--until", v, DateTimeOffset.UtcNow).Error);
        var filter = new Option<string[]>("--filter", "-f")
        {
            Description = $"Filter output based on conditions provided ({string.Join(", ", EventFilter.Keys)})",
            DefaultValueFactory = _ => [],
        }.CheckedBy(EventFilter.Check);
        var format = new Option<string?>("--format")
        {
            Description = "Format output using a custom template: 'json' prints in JSON format; 'TEMPLATE' prints output using the given Go template",
        }.CheckedBy(CheckFormat);
        var command = new Command("events", "Get real time events from the server").With(since, until, filter, format);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var now = DateTimeOffset.UtcNow;
            var from = parse.GetValue(since) is { } s ? DockerTimestamp.Parse("--since", s, now).Value : (long?)null;
            var to = parse.GetValue(until) is { } u ? DockerTimestamp.Parse("--until", u, now).Value : (long?)null;
            if (to is { } end && end < (from ?? 0))
            {
                await cli.Error.WriteLineAsync($"Error response from daemon: `since` time ({parse.GetValue(since)}) cannot be after `until` time ({parse.GetValue(until)})");
                return 1;
            }

            var matching = EventFilter.Parse(parse.GetValue(filter) ?? []);
            var template = parse.GetValue(format)?.Trim() is { Length: > 0 } f && f != "json" ? GoTemplate.Parse(f) : null;
            var json = parse.GetValue(format)?.Trim() == "json";
            var request = new WatchEvents(SwarmIds.NewRequestId(), from, to);
            try
            {
                await foreach (var e in cli.Node.WatchEventsAsync(request, ct))
                {
                    if (matching.Matches(e))
                    {
                        await cli.Out.WriteLineAsync(template is not null ? template.Execute(EventView.Json(e))
                            : json ? Json.Line(EventView.Json(e))
                            : EventView.Text(e, TimeZoneInfo.Local));
                        await cli.Out.FlushAsync(ct);
                    }
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return 130;
            }
            catch (IOException) when (!ct.IsCancellationRequested)
            {
                await cli.Error.WriteLineAsync($"Error: the node at {cli.Node.Address} closed the events stream (it stopped?); see protoswarmd's log.");
                return 1;
            }

            return 0;
        });
        return command;
    }

    private static string? CheckFormat(string format) =>
        format.Trim() is "json" or "" ? null : PerItem.InspectFormatError(format, EventView.Fields);
}
