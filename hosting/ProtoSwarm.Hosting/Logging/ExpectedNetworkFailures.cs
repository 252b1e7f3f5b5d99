using System.Net.Sockets;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace ProtoSwarm.Hosting.Logging;

/// <summary>
/// What to write instead of a log entry: its new level and one line of text, without the exception. An entry with a
/// <paramref name="RepeatKey"/> is written at its level once per key in <see cref="NetworkFailureLoggerProvider.RepeatWindow"/>,
/// its repeats meanwhile at debug.
/// </summary>
public readonly record struct LogRewrite(LogLevel Level, string Text, string? RepeatKey = null);

/// <summary>
/// The log entries of Proto.Remote, Proto.Cluster, gRPC and Kestrel that report a peer stopping, restarting
/// or resetting a connection: what any node sees whenever another one stops, and nothing to act on, yet
/// written by those libraries at warning or error level, a stack trace each, once per retry. Here they
/// become one line at information or warning level (a retry's line goes to debug), so a node's log says
/// "lost the connection to 10.0.0.5:2377; reconnecting" once per event. Pure: it reads the entry only.
/// <para>
/// Only what is known to be a connection failure is rewritten: an entry of another category, one whose
/// template is not one of these libraries' known ones, and any entry with an exception that is not a
/// connection failure (<see cref="Describe"/> answers null) stays as it was, stack trace included, since
/// that is a bug to look at. The templates are the libraries' own (Proto.Remote and Proto.Cluster 1.8,
/// Grpc.AspNetCore 2.70); a later version that words them differently gets its entries written unchanged.
/// </para>
/// </summary>
public static class ExpectedNetworkFailures
{
    /// <summary>The key under which Microsoft.Extensions.Logging passes a message's template among its values.</summary>
    public const string OriginalFormat = "{OriginalFormat}";

    private const string Connector = "[ServerConnector][{SystemAddress}] ";
    private const string Service = "[RemotingGrpcService][{SystemAddress}] ";

    /// <summary>Exception types, by the name Proto.Remote writes in its retry lines, that a lost or refused connection throws.</summary>
    private static readonly HashSet<string> NetworkExceptionNames = new(StringComparer.Ordinal)
    {
        nameof(RpcException), nameof(IOException), "HttpIOException", "HttpRequestException", nameof(SocketException),
        nameof(OperationCanceledException), nameof(TaskCanceledException), "ConnectionResetException", "ConnectionAbortedException",
    };

    /// <summary>
    /// Proto.Remote's lines that repeat while a peer is away or this member is blocked (it is about to be
    /// replaced, which the node logs once): each attempt, each refused connection. Debug, whatever their cause.
    /// </summary>
    private static readonly HashSet<string> RepeatedWhileAway = new(StringComparer.Ordinal)
    {
        Connector + "Connection Refused to remote member {MemberId} address {Address}, we are blocked",
        Connector + "Connection Refused to remote member {MemberId} address {Address}, they are blocked",
        Connector + "dropped connection to blocked member {ActorSystemId}/{Address}",
        Service + "Connection Refused from remote member {MemberId} address {Address}, they are blocked",
        Service + "Connection Refused from remote member {MemberId} address {Address}, we are blocked",
        Service + "Attempt to connect from a blocked endpoint was rejected",
        Service + "Attempt to connect to the suspended reader has been rejected",
        // Gossip to a member that stopped times out every few hundred milliseconds until the swarm
        // judges it Down and it leaves the member list; the node's Down is the one line that matters.
        "Timeout in GossipReenterAfterSend, elapsed {Delta}ms for target member {TargetMember} from {SelfMember}",
        "DeadLetter in GossipReenterAfterSend, elapsed {Delta}ms for target member {TargetMember} from {SelfMember}",
        // The identity handover asks every member for its partition after each topology change, and asks
        // a member that does not answer again every 200 ms (dead letter) or after the handover timeout,
        // until it answers or leaves the member list: 5 lines a second per member away, for as long as it is.
        "[PartitionIdentity] Partition {Member} unreachable",
        "[PartitionIdentity] Partition {Member} timed out, retrying",
    };

    /// <summary>Whether entries of this category are ever rewritten: the network libraries' only.</summary>
    public static bool IsNetworkCategory(string category) =>
        category.StartsWith("Proto.Remote", StringComparison.Ordinal) ||
        category.StartsWith("Proto.Cluster", StringComparison.Ordinal) ||
        category.StartsWith("Grpc.", StringComparison.Ordinal) ||
        category.StartsWith("Microsoft.AspNetCore.Server.Kestrel", StringComparison.Ordinal);

    /// <summary>
    /// The rewrite of one entry, or null to write it as it is. <paramref name="values"/> are the entry's
    /// structured values (a LoggerMessage's state), among them its template under <see cref="OriginalFormat"/>;
    /// <paramref name="message"/> is the entry's formatted text.
    /// </summary>
    public static LogRewrite? Rewrite(string category, LogLevel level, IReadOnlyList<KeyValuePair<string, object?>>? values, string message, Exception? exception)
    {
        if (!IsNetworkCategory(category) || level <= LogLevel.Debug)
        {
            return null;
        }

        var template = Value(values, OriginalFormat);
        string? reason = null;
        if (exception is not null && (reason = Describe(exception)) is null)
        {
            return null; // not a connection failure: a bug, written in full
        }

        var address = Value(values, "Address") ?? "a peer";
        var exceptionName = Value(values, "ExceptionType");
        switch (template)
        {
            case Connector + "Error in reader for {Address} {ExceptionType}" when reason is not null || IsNetworkName(exceptionName):
                return new LogRewrite(LogLevel.Information, $"Lost the connection to {address}: {reason ?? exceptionName}; reconnecting");
            case Connector + "Reader cancelled for {Address}":
                return new LogRewrite(LogLevel.Information, $"Lost the connection to {address}: {reason ?? "its stream was cancelled"}; reconnecting");
            case Connector + "Restarting endpoint connection to {Address} after {Duration} because of {ExceptionType} ({FailureCount} / {MaxRetries})"
                when reason is not null || IsNetworkName(exceptionName) || exceptionName == nameof(Exception):
                // Proto.Remote's own refusals while connecting (blocked, suspended) are plain Exceptions.
                return new LogRewrite(LogLevel.Debug, OneLine(message));
            case Connector + "Stopping connection to {Address} after retries expired because of {ExceptionType}" when reason is not null || IsNetworkName(exceptionName):
                return new LogRewrite(LogLevel.Warning, $"Gave up reconnecting to {address}: {reason ?? exceptionName}; a later message to it connects again", GaveUpKey(address));
            case Connector + "Stopping connection to {Address} after retries expired because the endpoint is unavailable":
                return new LogRewrite(LogLevel.Warning, $"Gave up reconnecting to {address}: it is unavailable; a later message to it connects again", GaveUpKey(address));
            case Service + "Failed to connect back to remote member {MemberId} address {Address} for writes":
                return new LogRewrite(LogLevel.Information, $"Could not connect back to {address} (member {Value(values, "MemberId")}) for writes{(reason is null ? "" : $": {reason}")}");
            case "I have been blocked, exiting {Id}":
                // The node starts a new member and says so at warning level (SwarmRuntime); this is no crash.
                return new LogRewrite(LogLevel.Information, $"This node's cluster member {Value(values, "Id")} was blocked by the others (it was judged Down); it stops and the node starts a new one");
            case "GossipActor received timeout, report bug":
                // The gossip actor's 5 s receive timeout is a watchdog: once the member has joined, the gossip
                // loop sends it a message every 300 ms, so it fires when this process did not run for 5 s
                // (a frozen or paused process, or one starved of CPU or threads), or when joining took that
                // long. Worth a warning, not a critical "report bug" to Proto.Actor.
                return new LogRewrite(LogLevel.Warning,
                    "The cluster gossip received nothing for 5 s: this process was paused or starved of CPU or threads for that long, or was still joining the cluster");
            case not null when RepeatedWhileAway.Contains(template):
                return new LogRewrite(LogLevel.Debug, OneLine(message));
            case "Error when executing service method '{ServiceMethod}'." when reason is not null:
                return new LogRewrite(LogLevel.Information, $"A peer's gRPC call {Value(values, "ServiceMethod")} ended: {reason} (the peer stopped, restarted or lost its connection)");
        }

        // Any other entry of these libraries that carries a connection failure: its own line, with the
        // failure in a few words instead of the stack trace, at most at information level.
        return reason is null ? null : new LogRewrite(LogLevel.Information, $"{OneLine(message)}: {reason}");
    }

    /// <summary>
    /// One give-up per peer is worth a warning; the next ones are not. Every message to a peer that stays away (a
    /// manager's Raft appends, every 100 ms) starts another round of tries once the last gave up, about every 1.5 s
    /// (no wait after a termination: RemoteConfigFactory.ForNode).
    /// </summary>
    private static string GaveUpKey(string address) => "gave up reconnecting to " + address;

    /// <summary>
    /// The failure in a few words when <paramref name="exception"/> (or what it wraps) is a lost, reset,
    /// refused or cancelled connection; null for anything else. A TLS handshake refused for its certificate
    /// is not one: that is a configuration to fix, written in full.
    /// </summary>
    public static string? Describe(Exception exception)
    {
        for (var depth = 0; depth < 8; depth++)
        {
            switch (exception)
            {
                case RpcException rpc when rpc.StatusCode is StatusCode.Unavailable or StatusCode.Cancelled or StatusCode.Aborted or StatusCode.DeadlineExceeded:
                    return rpc.Status.DebugException is { } cause && Describe(cause) is { } inner
                        ? $"gRPC {rpc.StatusCode} ({inner})"
                        : $"gRPC {rpc.StatusCode}{(string.IsNullOrEmpty(rpc.Status.Detail) ? "" : $": {OneLine(rpc.Status.Detail)}")}";
                case RpcException rpc:
                    return rpc.Status.DebugException is { } debug && Describe(debug) is { } wrapped ? $"gRPC {rpc.StatusCode} ({wrapped})" : null;
                case SocketException socket:
                    return SocketReason(socket.SocketErrorCode);
                case OperationCanceledException:
                    return "cancelled";
                case AggregateException { InnerExceptions.Count: 1 } aggregate:
                    exception = aggregate.InnerExceptions[0];
                    continue;
                case HttpRequestException http when http.InnerException is null:
                    return http.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.ResponseEnded ? OneLine(http.Message) : null;
                case HttpRequestException { InnerException: { } httpCause }:
                    exception = httpCause;
                    continue;
                case IOException { InnerException: { } ioCause } when ioCause is SocketException or IOException:
                    exception = ioCause;
                    continue;
                case IOException { InnerException: { } aborted } io when Describe(aborted) is not null:
                    // Kestrel's "The request stream was aborted." over the reason it aborted (ConnectionAbortedException, a reset).
                    return OneLine(io.Message);
                case IOException io when io.InnerException is null:
                    return OneLine(io.Message); // "The client reset the request stream.", "Unable to read data from the transport connection"
            }

            var name = exception.GetType().FullName;
            return name is "Microsoft.AspNetCore.Connections.ConnectionResetException" or "Microsoft.AspNetCore.Connections.ConnectionAbortedException"
                ? OneLine(exception.Message)
                : null;
        }

        return null;
    }

    private static string? SocketReason(SocketError error) => error switch
    {
        SocketError.ConnectionReset => "connection reset",
        SocketError.ConnectionRefused => "connection refused",
        SocketError.ConnectionAborted => "connection aborted",
        SocketError.HostUnreachable or SocketError.HostDown => "host unreachable",
        SocketError.NetworkUnreachable or SocketError.NetworkDown => "network unreachable",
        SocketError.TimedOut => "connection timed out",
        SocketError.Shutdown or SocketError.NotConnected => "connection closed",
        SocketError.OperationAborted => "cancelled",
        _ => null,
    };

    private static bool IsNetworkName(string? name) => name is not null && NetworkExceptionNames.Contains(name);

    private static string? Value(IReadOnlyList<KeyValuePair<string, object?>>? values, string key)
    {
        if (values is null)
        {
            return null;
        }

        foreach (var pair in values)
        {
            if (pair.Key == key)
            {
                return pair.Value?.ToString();
            }
        }

        return null;
    }

    /// <summary>The text on one line: a log line must not be broken by a peer's message.</summary>
    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();
}
