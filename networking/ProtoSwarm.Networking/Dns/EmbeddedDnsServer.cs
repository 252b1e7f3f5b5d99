using System.Collections.Immutable;
using System.Net;
using ARSoft.Tools.Net;
using ARSoft.Tools.Net.Dns;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ProtoSwarm.Networking.Dns;

/// <summary>
/// docker's embedded DNS server for one task: a UDP socket and a TCP listener on 127.0.0.11:53, made on
/// a thread inside the task's namespace (so they serve that namespace only), then served by ordinary
/// async loops on the thread pool: no thread per task, two sockets per task. Swarm names are answered
/// from the current <see cref="DnsRecords"/>, swapped whole by <see cref="Update"/>; every other name
/// goes to the forwarder, and a failed or timed-out forward answers SERVFAIL.
/// </summary>
public sealed partial class EmbeddedDnsServer : IAsyncDisposable
{
    public static readonly IPEndPoint DefaultEndpoint = new(ResolvConf.EmbeddedAddress, 53);

    private readonly DnsForwarder _forwarder;
    private readonly ILogger _logger;
    private DnsServer? _server;
    private IServerTransport[] _transports = [];
    private DnsRecords _records;

    private EmbeddedDnsServer(DnsRecords records, DnsForwarder forwarder, ILogger logger)
    {
        _records = records;
        _forwarder = forwarder;
        _logger = logger;
    }

    /// <summary>The records answering now.</summary>
    public DnsRecords Records => Volatile.Read(ref _records);

    /// <summary>
    /// Binds the sockets inside the namespace <paramref name="runner"/> runs in and starts answering.
    /// The namespace's loopback must be up. <paramref name="endpoint"/> is 127.0.0.11:53 unless a test says otherwise.
    /// </summary>
    public static async Task<EmbeddedDnsServer> StartAsync(
        INamespaceRunner runner, DnsRecords records, DnsForwarder forwarder, ILogger? logger = null, IPEndPoint? endpoint = null)
    {
        var dns = new EmbeddedDnsServer(records, forwarder, logger ?? NullLogger.Instance);
        var bind = endpoint ?? DefaultEndpoint;
        dns._server = await runner.RunAsync(() =>
        {
            // Both transports create their socket in their constructor: that is the moment that fixes the namespace.
            var udp = new UdpServerTransport(bind, 2_000);
            var tcp = new TcpServerTransport(bind, 2_000, 10_000);
            var server = new DnsServer(udp, tcp);
            dns._transports = [udp, tcp];
            server.QueryReceived += dns.OnQueryReceivedAsync;
            server.ExceptionThrown += dns.OnExceptionAsync;
            try
            {
                server.Start();
            }
            catch
            {
                udp.Dispose();
                tcp.Dispose();
                throw;
            }

            return server;
        });
        return dns;
    }

    /// <summary>Answers from <paramref name="records"/> from now on (the task's views changed).</summary>
    public void Update(DnsRecords records) => Volatile.Write(ref _records, records);

    public ValueTask DisposeAsync()
    {
        var server = Interlocked.Exchange(ref _server, null);
        try
        {
            server?.Stop();
        }
        catch (AggregateException e) when (e.InnerExceptions.All(inner => inner is OperationCanceledException))
        {
            // ARSoft's Stop cancels its listeners and waits for them; it sometimes rethrows their cancellation, which is the stop itself.
        }
        finally
        {
            // Closed here too, so the port is free for the next server whatever Stop did before it threw.
            foreach (var transport in Interlocked.Exchange(ref _transports, []))
            {
                transport.Dispose();
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>The answer to one query: from the records, or forwarded. Public so a benchmark or test can call it without sockets.</summary>
    public async Task<DnsMessage> AnswerAsync(DnsMessage query, CancellationToken ct = default)
    {
        var response = query.CreateResponseInstance();
        response.IsRecursionAllowed = true;
        if (query.Questions.Count != 1)
        {
            response.ReturnCode = ReturnCode.FormatError;
            return response;
        }

        var question = query.Questions[0];
        if (Answer(Records, question, response))
        {
            return response;
        }

        var upstream = await _forwarder.ForwardAsync(query, ct);
        if (upstream is null)
        {
            LogForwardFailed(_logger, question.Name.ToString(), question.RecordType);
            response.ReturnCode = ReturnCode.ServerFailure;
            return response;
        }

        response.ReturnCode = upstream.ReturnCode;
        response.IsAuthenticData = upstream.IsAuthenticData;
        response.AnswerRecords.AddRange(upstream.AnswerRecords);
        response.AuthorityRecords.AddRange(upstream.AuthorityRecords);
        response.AdditionalRecords.AddRange(upstream.AdditionalRecords.Where(r => r.RecordType != RecordType.Opt));
        return response;
    }

    /// <summary>Fills the response for a swarm name and says true; false when the name is not the swarm's.</summary>
    internal static bool Answer(DnsRecords records, DnsQuestion question, DnsMessage response)
    {
        if (question.RecordClass is not (RecordClass.INet or RecordClass.Any))
        {
            return false;
        }

        var name = question.Name.ToString();
        if (question.RecordType == RecordType.Ptr && records.TryResolvePointer(name, out var target))
        {
            response.IsAuthoritiveAnswer = true;
            response.AnswerRecords.Add(new PtrRecord(question.Name, DnsRecords.TtlSeconds, DomainName.Parse(target)));
            return true;
        }

        if (!records.TryResolve(name, out var addresses))
        {
            return false;
        }

        // A known name answers A; AAAA and every other type get NOERROR with no data, never a forward.
        response.IsAuthoritiveAnswer = true;
        if (question.RecordType is RecordType.A or RecordType.Any)
        {
            foreach (var address in addresses)
            {
                response.AnswerRecords.Add(new ARecord(question.Name, DnsRecords.TtlSeconds, address));
            }
        }

        return true;
    }

    private async Task OnQueryReceivedAsync(object sender, QueryReceivedEventArgs e)
    {
        if (e.Query is DnsMessage query)
        {
            e.Response = await AnswerAsync(query);
        }
    }

    private Task OnExceptionAsync(object sender, ExceptionEventArgs e)
    {
        LogServerError(_logger, e.Exception);
        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Forwarding {Name} {Type} failed or timed out: answered SERVFAIL")]
    private static partial void LogForwardFailed(ILogger logger, string name, RecordType type);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Embedded DNS server error")]
    private static partial void LogServerError(ILogger logger, Exception exception);
}
