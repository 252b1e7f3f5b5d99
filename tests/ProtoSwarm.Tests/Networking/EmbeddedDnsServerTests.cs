using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using ARSoft.Tools.Net;
using ARSoft.Tools.Net.Dns;
using DnsClient;
using DnsQuestion = ARSoft.Tools.Net.Dns.DnsQuestion;
using ProtoSwarm.Networking.Dns;

namespace ProtoSwarm.Tests.Networking;

/// <summary>The embedded server in real namespaces, asked by DnsClient.NET from a thread inside them.</summary>
[Trait("Category", "Privileged")]
public sealed class EmbeddedDnsServerTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMilliseconds(400);

    private static Task<IDnsQueryResponse> AskAsync(TestNetns ns, string name, QueryType type = QueryType.A, bool tcp = false) =>
        ns.RunOnNewThreadAsync(() =>
        {
            // Synchronous on a thread in the namespace: DnsClient makes its socket there.
            var client = new LookupClient(new LookupClientOptions(new NameServer(ResolvConf.EmbeddedAddress, 53))
            {
                UseCache = false,
                Retries = 0,
                Timeout = TimeSpan.FromSeconds(5),
                UseTcpOnly = tcp,
                ContinueOnDnsError = false,
            });
            return client.Query(name, type);
        });

    private static string[] Addresses(IDnsQueryResponse response) =>
        [.. response.Answers.ARecords().Select(r => r.Address.ToString()).Order(StringComparer.Ordinal)];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Answers_Swarm_Names_At_127_0_0_11_Inside_The_Namespace(bool tcp)
    {
        using var ns = TestNetns.Create();
        using var forwarder = new DnsForwarder([], Timeout);
        await using var server = await EmbeddedDnsServer.StartAsync(ns, DnsRecords.From(DnsFixtures.FrontOnly), forwarder);

        Assert.Equal(["10.0.1.2"], Addresses(await AskAsync(ns, "web", tcp: tcp)));
        Assert.Equal(["10.0.1.8", "10.0.1.9"], Addresses(await AskAsync(ns, "DB.", tcp: tcp)));
        Assert.Equal(["10.0.1.5", "10.0.1.6"], Addresses(await AskAsync(ns, "tasks.web", tcp: tcp)));

        var aaaa = await AskAsync(ns, "web", QueryType.AAAA, tcp);
        Assert.Equal(DnsHeaderResponseCode.NoError, aaaa.Header.ResponseCode);
        Assert.Empty(aaaa.Answers);

        var ptr = await AskAsync(ns, "5.1.0.10.in-addr.arpa", QueryType.PTR, tcp);
        Assert.Equal("web.1.aaaa.front.", Assert.Single(ptr.Answers.PtrRecords()).PtrDomainName.Value);
    }

    [Fact]
    public async Task Update_Swaps_The_Records_Atomically()
    {
        using var ns = TestNetns.Create();
        using var forwarder = new DnsForwarder([], Timeout);
        await using var server = await EmbeddedDnsServer.StartAsync(ns, DnsRecords.From(DnsFixtures.FrontOnly), forwarder);
        Assert.Equal(DnsHeaderResponseCode.ServerFailure, (await AskAsync(ns, "secret")).Header.ResponseCode);

        server.Update(DnsRecords.From([DnsFixtures.Front, DnsFixtures.Back]));
        Assert.Equal(["10.0.2.2"], Addresses(await AskAsync(ns, "secret")));
    }

    [Fact]
    public async Task Each_Namespace_Answers_From_Its_Own_Records()
    {
        using var front = TestNetns.Create();
        using var back = TestNetns.Create();
        using var forwarder = new DnsForwarder([], Timeout);
        await using var a = await EmbeddedDnsServer.StartAsync(front, DnsRecords.From([DnsFixtures.Front]), forwarder);
        await using var b = await EmbeddedDnsServer.StartAsync(back, DnsRecords.From([DnsFixtures.Back]), forwarder);

        Assert.Equal(["10.0.1.2"], Addresses(await AskAsync(front, "web")));
        Assert.Equal(DnsHeaderResponseCode.ServerFailure, (await AskAsync(back, "web")).Header.ResponseCode);
        Assert.Equal(["10.0.2.2"], Addresses(await AskAsync(back, "secret")));
    }

    [Fact]
    public async Task Unknown_Names_Are_Forwarded_To_The_Upstream_From_The_Task_Namespace()
    {
        using var ns = TestNetns.Create();
        var upstreamAddress = IPAddress.Parse("127.0.0.53");
        var upstream = await ns.RunAsync(() => FakeUpstream(upstreamAddress));
        try
        {
            using var forwarder = new DnsForwarder([upstreamAddress], Timeout, runIn: ns);
            await using var server = await EmbeddedDnsServer.StartAsync(ns, DnsRecords.From(DnsFixtures.FrontOnly), forwarder);

            var answer = await AskAsync(ns, "example.org");
            Assert.Equal(DnsHeaderResponseCode.NoError, answer.Header.ResponseCode);
            Assert.Equal(["192.0.2.7"], Addresses(answer));
            Assert.Equal(DnsHeaderResponseCode.NotExistentDomain, (await AskAsync(ns, "nowhere.example")).Header.ResponseCode);
            Assert.Equal(["10.0.1.2"], Addresses(await AskAsync(ns, "web")));
        }
        finally
        {
            upstream.Stop();
        }
    }

    [Fact]
    public async Task A_Silent_Upstream_Times_Out_Into_Servfail()
    {
        using var ns = TestNetns.Create();
        var silentAddress = IPAddress.Parse("127.0.0.54");
        using var silent = await ns.RunAsync(() =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(silentAddress, 53));
            return socket;
        });
        using var forwarder = new DnsForwarder([silentAddress], Timeout, runIn: ns);
        await using var server = await EmbeddedDnsServer.StartAsync(ns, DnsRecords.From(DnsFixtures.FrontOnly), forwarder);

        var clock = Stopwatch.StartNew();
        var answer = await AskAsync(ns, "example.org");
        Assert.Equal(DnsHeaderResponseCode.ServerFailure, answer.Header.ResponseCode);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task Forwarding_Never_Targets_The_Embedded_Server_Itself()
    {
        using var forwarder = new DnsForwarder([ResolvConf.EmbeddedAddress], Timeout);
        Assert.Empty(forwarder.Upstreams);
        var query = new DnsMessage();
        query.Questions.Add(new DnsQuestion(DomainName.Parse("example.org"), RecordType.A, RecordClass.INet));
        Assert.Null(await forwarder.ForwardAsync(query));
    }

    [Fact]
    public async Task Stopping_Releases_The_Port_For_A_New_Server()
    {
        using var ns = TestNetns.Create();
        using var forwarder = new DnsForwarder([], Timeout);
        var first = await EmbeddedDnsServer.StartAsync(ns, DnsRecords.From(DnsFixtures.FrontOnly), forwarder);
        await first.DisposeAsync();
        await using var second = await EmbeddedDnsServer.StartAsync(ns, DnsRecords.From([DnsFixtures.Back]), forwarder);
        Assert.Equal(["10.0.2.2"], Addresses(await AskAsync(ns, "secret")));
    }

    /// <summary>A resolver that knows example.org (192.0.2.7) and answers NXDOMAIN for the rest.</summary>
    private static DnsServer FakeUpstream(IPAddress address)
    {
        var server = new DnsServer(new UdpServerTransport(address), new TcpServerTransport(address));
        server.QueryReceived += (_, e) =>
        {
            var query = (DnsMessage)e.Query;
            var response = query.CreateResponseInstance();
            var question = query.Questions[0];
            if (question.Name.Equals(DomainName.Parse("example.org"), false))
            {
                response.AnswerRecords.Add(new ARecord(question.Name, 60, IPAddress.Parse("192.0.2.7")));
            }
            else
            {
                response.ReturnCode = ReturnCode.NxDomain;
            }

            e.Response = response;
            return Task.CompletedTask;
        };
        server.Start();
        return server;
    }
}
