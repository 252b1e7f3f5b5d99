using System.Net.Http;
using System.Net.Sockets;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using ProtoSwarm.Hosting.Logging;

namespace ProtoSwarm.Tests.Hosting;

/// <summary>
/// The network libraries' entries about a peer stopping, restarting or resetting a connection, as a lab
/// logged them (2026-12-05: a worker and a manager killed and restarted), and what the node writes instead.
/// </summary>
public class NetworkFailureLogTests
{
    private const string Connector = "Proto.Remote.ServerConnector";
    private const string GrpcService = "Proto.Remote.RemotingGrpcService";
    private const string Gossip = "Proto.Cluster.Gossip.GossipActor";
    private const string PartitionIdentity = "Proto.Cluster.Partition.PartitionIdentityActor";
    private const string Prefix = "[ServerConnector][{SystemAddress}] ";

    private static readonly RpcException Cancelled = new(new Status(StatusCode.Cancelled, ""));

    private static KeyValuePair<string, object?>[] Values(string template, params (string Key, object? Value)[] values) =>
        [.. values.Select(v => new KeyValuePair<string, object?>(v.Key, v.Value)), new(ExpectedNetworkFailures.OriginalFormat, template)];

    [Fact]
    public void A_Retry_Of_A_Lost_Peer_Goes_To_Debug()
    {
        var values = Values(Prefix + "Restarting endpoint connection to {Address} after {Duration} because of {ExceptionType} ({FailureCount} / {MaxRetries})",
            ("SystemAddress", "10.250.0.11:2377"), ("Address", "10.250.0.101:2377"), ("Duration", "00:00:00.5"), ("ExceptionType", "RpcException"), ("FailureCount", 1), ("MaxRetries", 3));

        var rewrite = ExpectedNetworkFailures.Rewrite(Connector, LogLevel.Warning, values, "[ServerConnector][10.250.0.11:2377] Restarting endpoint connection to 10.250.0.101:2377 ... (1 / 3)", null);

        Assert.Equal(LogLevel.Debug, rewrite?.Level);
    }

    [Fact]
    public void Giving_Up_After_A_Reset_Is_One_Warning_Line_Without_The_Stack_Trace()
    {
        var values = Values(Prefix + "Stopping connection to {Address} after retries expired because of {ExceptionType}",
            ("SystemAddress", "10.250.0.11:2377"), ("Address", "10.250.0.101:2377"), ("ExceptionType", "RpcException"));

        var rewrite = ExpectedNetworkFailures.Rewrite(Connector, LogLevel.Error, values, "Stopping connection ...", Cancelled);

        Assert.Equal(new LogRewrite(LogLevel.Warning, "Gave up reconnecting to 10.250.0.101:2377: gRPC Cancelled; a later message to it connects again", "gave up reconnecting to 10.250.0.101:2377"), rewrite);
    }

    [Fact]
    public void A_Reader_Lost_To_A_Reset_Is_One_Information_Line()
    {
        var values = Values(Prefix + "Error in reader for {Address} {ExceptionType}", ("Address", "10.250.0.11:2377"), ("ExceptionType", "RpcException"));

        var rewrite = ExpectedNetworkFailures.Rewrite(Connector, LogLevel.Warning, values, "Error in reader ...", null);

        Assert.Equal(new LogRewrite(LogLevel.Information, "Lost the connection to 10.250.0.11:2377: RpcException; reconnecting"), rewrite);
    }

    [Fact]
    public void A_Grpc_Call_Reset_By_Its_Client_Is_One_Information_Line()
    {
        var values = Values("Error when executing service method '{ServiceMethod}'.", ("ServiceMethod", "Receive"));

        var rewrite = ExpectedNetworkFailures.Rewrite("Grpc.AspNetCore.Server.ServerCallHandler", LogLevel.Error, values,
            "Error when executing service method 'Receive'.", new IOException("The client reset the request stream."));

        Assert.Equal(LogLevel.Information, rewrite?.Level);
        Assert.Equal("A peer's gRPC call Receive ended: The client reset the request stream. (the peer stopped, restarted or lost its connection)", rewrite?.Text);
    }

    [Fact]
    public void A_Grpc_Call_Whose_Stream_Kestrel_Aborted_Is_One_Information_Line()
    {
        // 2026-12-06, a lab manager whose peer was SIGKILLed logged this at error level with its stack trace.
        var values = Values("Error when executing service method '{ServiceMethod}'.", ("ServiceMethod", "Receive"));
        var aborted = new IOException("The request stream was aborted.", new Microsoft.AspNetCore.Connections.ConnectionAbortedException("The HTTP/2 connection faulted."));

        var rewrite = ExpectedNetworkFailures.Rewrite("Grpc.AspNetCore.Server.ServerCallHandler", LogLevel.Error, values, "Error when executing service method 'Receive'.", aborted);

        Assert.Equal(new LogRewrite(LogLevel.Information, "A peer's gRPC call Receive ended: The request stream was aborted. (the peer stopped, restarted or lost its connection)"), rewrite);
    }

    [Fact]
    public void An_Aborted_Stream_For_A_Reason_That_Is_No_Connection_Failure_Is_Written_In_Full()
    {
        var values = Values("Error when executing service method '{ServiceMethod}'.", ("ServiceMethod", "Receive"));

        var rewrite = ExpectedNetworkFailures.Rewrite("Grpc.AspNetCore.Server.ServerCallHandler", LogLevel.Error, values, "Error when executing service method 'Receive'.",
            new IOException("The request stream was aborted.", new InvalidOperationException("a bug")));

        Assert.Null(rewrite);
    }

    [Theory]
    [InlineData(Connector, Prefix + "Connection Refused to remote member {MemberId} address {Address}, we are blocked")]
    [InlineData(GrpcService, "[RemotingGrpcService][{SystemAddress}] Attempt to connect to the suspended reader has been rejected")]
    [InlineData(GrpcService, "[RemotingGrpcService][{SystemAddress}] Connection Refused from remote member {MemberId} address {Address}, we are blocked")]
    [InlineData(Gossip, "Timeout in GossipReenterAfterSend, elapsed {Delta}ms for target member {TargetMember} from {SelfMember}")]
    // 2026-12-05, a lab's worker killed for 5 s: 15 of these in 3 s on each manager, one every 200 ms.
    [InlineData(PartitionIdentity, "[PartitionIdentity] Partition {Member} unreachable")]
    [InlineData(PartitionIdentity, "[PartitionIdentity] Partition {Member} timed out, retrying")]
    public void Lines_That_Repeat_While_A_Peer_Is_Away_Or_This_Member_Is_Blocked_Go_To_Debug(string category, string template)
    {
        var rewrite = ExpectedNetworkFailures.Rewrite(category, LogLevel.Warning, Values(template, ("Member", "10.250.0.101:2377")), "text", null);

        Assert.Equal(LogLevel.Debug, rewrite?.Level);
    }

    [Fact]
    public void The_Gossip_Watchdog_After_A_Pause_Is_A_Warning_That_Says_What_Happened_Not_A_Critical_Bug_Report()
    {
        var rewrite = ExpectedNetworkFailures.Rewrite(Gossip, LogLevel.Critical, Values("GossipActor received timeout, report bug"), "GossipActor received timeout, report bug", null);

        Assert.Equal(LogLevel.Warning, rewrite?.Level);
        Assert.Contains("paused", rewrite?.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("report bug", rewrite?.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Being_Blocked_Is_No_Crash_The_Node_Starts_A_New_Member()
    {
        var rewrite = ExpectedNetworkFailures.Rewrite("Proto.Cluster.MemberList", LogLevel.Critical, Values("I have been blocked, exiting {Id}", ("Id", "e86b")), "I have been blocked, exiting e86b", null);

        Assert.Equal(LogLevel.Information, rewrite?.Level);
        Assert.Contains("member e86b was blocked", rewrite?.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_Real_Error_Keeps_Its_Level_And_Stack_Trace()
    {
        var values = Values(Prefix + "Stopping connection to {Address} after retries expired because of {ExceptionType}", ("Address", "10.250.0.101:2377"), ("ExceptionType", "InvalidOperationException"));

        Assert.Null(ExpectedNetworkFailures.Rewrite(Connector, LogLevel.Error, values, "text", new InvalidOperationException("a bug")));
        Assert.Null(ExpectedNetworkFailures.Rewrite("Grpc.AspNetCore.Server.ServerCallHandler", LogLevel.Error,
            Values("Error when executing service method '{ServiceMethod}'.", ("ServiceMethod", "Receive")), "text", new NullReferenceException()));
        // A retry for a reason that is no network failure (a serializer's) stays a warning.
        Assert.Null(ExpectedNetworkFailures.Rewrite(Connector, LogLevel.Warning,
            Values(Prefix + "Restarting endpoint connection to {Address} after {Duration} because of {ExceptionType} ({FailureCount} / {MaxRetries})", ("ExceptionType", "MessagePackSerializationException")),
            "text", null));
    }

    [Fact]
    public void Our_Own_Categories_And_Unknown_Templates_Are_Never_Rewritten()
    {
        Assert.Null(ExpectedNetworkFailures.Rewrite("ProtoSwarm.Actors.Agent.AgentActor", LogLevel.Error, Values("{X}"), "text", Cancelled));
        Assert.Null(ExpectedNetworkFailures.Rewrite(Connector, LogLevel.Warning, Values("Something new from {Address}", ("Address", "a")), "text", null));
    }

    [Fact]
    public void Any_Other_Library_Entry_With_A_Connection_Failure_Loses_Only_Its_Stack_Trace()
    {
        var reset = new IOException("Unable to read data from the transport connection", new SocketException((int)SocketError.ConnectionReset));

        var rewrite = ExpectedNetworkFailures.Rewrite("Microsoft.AspNetCore.Server.Kestrel.Connections", LogLevel.Error, Values("Unexpected exception in {Where}.", ("Where", "x")),
            "Unexpected exception in x.", reset);

        Assert.Equal(new LogRewrite(LogLevel.Information, "Unexpected exception in x.: connection reset"), rewrite);
    }

    [Theory]
    [InlineData(SocketError.ConnectionRefused, "connection refused")]
    [InlineData(SocketError.ConnectionReset, "connection reset")]
    [InlineData(SocketError.HostUnreachable, "host unreachable")]
    public void Connection_Failures_Are_Described_In_A_Few_Words(SocketError error, string words)
    {
        Assert.Equal(words, ExpectedNetworkFailures.Describe(new SocketException((int)error)));
        Assert.Equal(words, ExpectedNetworkFailures.Describe(new HttpRequestException("An error occurred", new SocketException((int)error))));
        Assert.Equal($"gRPC Unavailable ({words})",
            ExpectedNetworkFailures.Describe(new RpcException(new Status(StatusCode.Unavailable, "Error connecting", new HttpRequestException("x", new SocketException((int)error))))));
    }

    [Fact]
    public void Other_Failures_Are_Not_Connection_Failures()
    {
        Assert.Null(ExpectedNetworkFailures.Describe(new System.Security.Authentication.AuthenticationException("The remote certificate was rejected")));
        Assert.Null(ExpectedNetworkFailures.Describe(new RpcException(new Status(StatusCode.PermissionDenied, "removed"))));
        Assert.Null(ExpectedNetworkFailures.Describe(new RpcException(new Status(StatusCode.Internal, "bad frame"))));
        Assert.Null(ExpectedNetworkFailures.Describe(new SocketException((int)SocketError.AddressAlreadyInUse)));
        Assert.Null(ExpectedNetworkFailures.Describe(new InvalidOperationException()));
    }

    [Fact]
    public void The_Provider_Writes_The_Rewrite_At_Information_And_Drops_What_Fell_Below_It()
    {
        var sink = new SinkProvider();
        using var provider = new NetworkFailureLoggerProvider(sink, LogLevel.Information);
        var logger = provider.CreateLogger(Connector);

        logger.Log(LogLevel.Error, default, Values(Prefix + "Stopping connection to {Address} after retries expired because of {ExceptionType}", ("Address", "10.250.0.101:2377"), ("ExceptionType", "RpcException")),
            Cancelled, (_, _) => "Stopping connection ...");
        logger.Log(LogLevel.Warning, default, Values(Prefix + "Restarting endpoint connection to {Address} after {Duration} because of {ExceptionType} ({FailureCount} / {MaxRetries})", ("ExceptionType", "RpcException")),
            null, (_, _) => "Restarting ...");
        logger.Log(LogLevel.Error, default, Values("{X}"), new InvalidOperationException("a bug"), (_, _) => "a bug");

        Assert.Equal(
            [
                (LogLevel.Warning, "Gave up reconnecting to 10.250.0.101:2377: gRPC Cancelled; a later message to it connects again", false),
                (LogLevel.Error, "a bug", true),
            ],
            sink.Entries);
    }

    [Fact]
    public void Giving_Up_On_A_Peer_Is_One_Warning_In_Five_Minutes_And_Its_Repeats_Go_To_Debug()
    {
        var sink = new SinkProvider();
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        using var provider = new NetworkFailureLoggerProvider(sink, LogLevel.Information, time);
        var logger = provider.CreateLogger(Connector);
        void GiveUp(string address) => logger.Log(LogLevel.Information, default,
            Values(Prefix + "Stopping connection to {Address} after retries expired because the endpoint is unavailable", ("Address", address)),
            null, (_, _) => "Stopping connection ...");

        GiveUp("10.250.0.11:2377");
        time.Advance(TimeSpan.FromSeconds(1.5));
        GiveUp("10.250.0.11:2377"); // the next round of tries, a message later
        GiveUp("10.250.0.12:2377");
        time.Advance(NetworkFailureLoggerProvider.RepeatWindow);
        GiveUp("10.250.0.11:2377");

        Assert.Equal(
            [
                (LogLevel.Warning, "Gave up reconnecting to 10.250.0.11:2377: it is unavailable; a later message to it connects again", false),
                (LogLevel.Warning, "Gave up reconnecting to 10.250.0.12:2377: it is unavailable; a later message to it connects again", false),
                (LogLevel.Warning, "Gave up reconnecting to 10.250.0.11:2377: it is unavailable; a later message to it connects again", false),
            ],
            sink.Entries);
    }

    [Theory]
    [InlineData(LogLevel.Debug)]
    [InlineData(LogLevel.Trace)]
    public void At_Debug_Every_Entry_Is_Written_As_The_Library_Wrote_It(LogLevel level)
    {
        var sink = new SinkProvider();
        using var provider = new NetworkFailureLoggerProvider(sink, level);

        provider.CreateLogger(Connector).Log(LogLevel.Error, default,
            Values(Prefix + "Stopping connection to {Address} after retries expired because of {ExceptionType}", ("Address", "a"), ("ExceptionType", "RpcException")),
            Cancelled, (_, _) => "Stopping connection ...");

        Assert.Equal([(LogLevel.Error, "Stopping connection ...", true)], sink.Entries);
    }

    private sealed class SinkProvider : ILoggerProvider
    {
        public List<(LogLevel Level, string Text, bool WithException)> Entries { get; } = [];

        public ILogger CreateLogger(string categoryName) => new Sink(this);

        public void Dispose()
        {
        }

        private sealed class Sink(SinkProvider owner) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                owner.Entries.Add((logLevel, formatter(state, exception), exception is not null));
        }
    }
}
