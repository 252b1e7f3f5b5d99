using System.Collections.Immutable;
using System.Net;
using ARSoft.Tools.Net;
using ARSoft.Tools.Net.Dns;
using ProtoSwarm.Contracts;
using ProtoSwarm.Networking.Dns;

namespace ProtoSwarm.Tests.Networking;

public sealed class DnsRecordsTests
{
    private static readonly DnsRecords Records = DnsRecords.From(DnsFixtures.FrontOnly);

    private static string[] Resolve(DnsRecords records, string name)
    {
        Assert.True(records.TryResolve(name, out var addresses), $"{name} should be known");
        return [.. addresses.Select(a => a.ToString()).Order(StringComparer.Ordinal)];
    }

    [Theory]
    [InlineData("web")]
    [InlineData("www")]
    public void Vip_Service_Name_And_Alias_Answer_The_Vip(string name) =>
        Assert.Equal(["10.0.1.2"], Resolve(Records, name));

    [Fact]
    public void Dnsrr_Service_Answers_Its_Ready_Tasks() =>
        Assert.Equal(["10.0.1.8", "10.0.1.9"], Resolve(Records, "db"));

    [Theory]
    [InlineData("tasks.web")]
    [InlineData("tasks.www")]
    public void Tasks_Name_Answers_Only_Ready_Task_Addresses(string name) =>
        Assert.Equal(["10.0.1.5", "10.0.1.6"], Resolve(Records, name));

    [Theory]
    [InlineData("web.1.aaaa", "10.0.1.5")]
    [InlineData("w1", "10.0.1.5")]
    [InlineData("web.3.cccc", "10.0.1.7")]
    public void Task_Name_And_Alias_Answer_The_Task_Address(string name, string address) =>
        Assert.Equal([address], Resolve(Records, name));

    [Theory]
    [InlineData("WEB")]
    [InlineData("web.")]
    [InlineData("Tasks.Web.")]
    public void Names_Are_Case_Insensitive_And_May_End_With_A_Dot(string name) =>
        Assert.NotEmpty(Resolve(Records, name));

    [Theory]
    [InlineData("secret")]
    [InlineData("tasks.secret")]
    [InlineData("secret.1.ffff")]
    [InlineData("example.org")]
    public void Names_On_Networks_The_Task_Is_Not_On_Are_Unknown(string name) =>
        Assert.False(Records.TryResolve(name, out _));

    [Theory]
    [InlineData("web.front", "10.0.1.2")]
    [InlineData("tasks.web.front", "10.0.1.5,10.0.1.6")]
    [InlineData("web.1.aaaa.front", "10.0.1.5")]
    [InlineData("w1.front", "10.0.1.5")]
    [InlineData("WWW.Front.", "10.0.1.2")]
    public void A_Name_With_Its_Network_Appended_Resolves_On_That_Network_As_In_Docker(string name, string addresses) =>
        Assert.Equal(addresses.Split(','), Resolve(Records, name));

    [Fact]
    public void A_Pointer_Answer_Resolves_Forward_And_A_Name_Asked_With_Another_Network_Answers_That_Networks()
    {
        Assert.True(Records.TryResolvePointer(DnsRecords.ReverseName(IPAddress.Parse("10.0.1.5")), out var name));
        Assert.Equal(["10.0.1.5"], Resolve(Records, name));

        var other = DnsFixtures.Back with { Services = [new NetworkService("s-web2", "web", [], EndpointMode.Vip, "10.0.2.3/24")] };
        var both = DnsRecords.From([DnsFixtures.Front, other]);
        Assert.Equal(["10.0.1.2"], Resolve(both, "web"));
        Assert.Equal(["10.0.2.3"], Resolve(both, "web.back"));
        Assert.Equal(["10.0.1.2"], Resolve(both, "web.front"));
        Assert.False(Records.TryResolve("web.back", out _));
    }

    [Fact]
    public void A_Task_On_Both_Networks_Sees_Both() =>
        Assert.Equal(["10.0.2.2"], Resolve(DnsRecords.From([DnsFixtures.Front, DnsFixtures.Back]), "secret"));

    [Fact]
    public void The_Ingress_Network_Has_No_Names() =>
        Assert.Empty(DnsRecords.From([DnsFixtures.Ingress]).Names);

    [Fact]
    public void The_First_Network_Answers_A_Name_Found_On_Two()
    {
        var other = DnsFixtures.Back with
        {
            Services = [new NetworkService("s-web2", "web", [], EndpointMode.Vip, "10.0.2.3/24")],
        };
        Assert.Equal(["10.0.2.3"], Resolve(DnsRecords.From([other, DnsFixtures.Front]), "web"));
        Assert.Equal(["10.0.1.2"], Resolve(DnsRecords.From([DnsFixtures.Front, other]), "web"));
    }

    [Fact]
    public void A_Dnsrr_Service_Without_Ready_Tasks_Is_Known_With_No_Address()
    {
        var view = DnsFixtures.Front with { Endpoints = [] };
        Assert.Empty(Resolve(DnsRecords.From([view]), "db"));
    }

    [Fact]
    public void A_Removed_Services_Alias_Goes_With_Its_Name_While_Its_Tasks_Stop()
    {
        // `service create --network name=front,alias=bar --name al`, then `service rm al`: the service leaves the view at
        // once, its task stays (desired Shutdown, so not ready) for its grace period. docker answers NXDOMAIN for al,
        // tasks.al and bar alike.
        var stopping = DnsFixtures.Task("10.0.1.20", "s-al", "al.1.gggg", ready: false, "bar");
        var view = DnsFixtures.Front with { Endpoints = [.. DnsFixtures.Front.Endpoints, stopping] };

        var records = DnsRecords.From([view]);

        Assert.False(records.TryResolve("al", out _));
        Assert.False(records.TryResolve("tasks.al", out _));
        Assert.False(records.TryResolve("bar", out _));
        Assert.False(records.TryResolve("bar.front", out _));
        Assert.Equal(["10.0.1.20"], Resolve(records, "al.1.gggg"));
    }

    [Fact]
    public void A_Tasks_Alias_Answers_Only_While_It_Is_Ready_And_Its_Service_Is_On_The_Network()
    {
        var notReady = DnsFixtures.Front with { Endpoints = [DnsFixtures.Task("10.0.1.5", "s-web", "web.1.aaaa", ready: false, "w1")] };
        var serviceGone = DnsFixtures.Front with { Services = [] };

        Assert.False(DnsRecords.From([notReady]).TryResolve("w1", out _));
        Assert.False(DnsRecords.From([serviceGone]).TryResolve("w1", out _));
        Assert.Equal(["10.0.1.5"], Resolve(DnsRecords.From([serviceGone]), "web.1.aaaa"));
    }

    [Fact]
    public void Pointer_Queries_Answer_Task_Name_Dot_Network_And_Service_For_A_Vip()
    {
        Assert.True(Records.TryResolvePointer("5.1.0.10.in-addr.arpa.", out var task));
        Assert.Equal("web.1.aaaa.front", task);
        Assert.True(Records.TryResolvePointer(DnsRecords.ReverseName(IPAddress.Parse("10.0.1.2")), out var vip));
        Assert.Equal("web", vip);
        Assert.False(Records.TryResolvePointer("5.2.0.10.in-addr.arpa", out _));
    }

    [Fact]
    public void A_Known_Name_Answers_Aaaa_With_No_Data_And_Unknown_Names_Are_Not_Answered()
    {
        var aaaa = new DnsMessage();
        Assert.True(EmbeddedDnsServer.Answer(Records, new DnsQuestion(DomainName.Parse("web"), RecordType.Aaaa, RecordClass.INet), aaaa));
        Assert.Equal(ReturnCode.NoError, aaaa.ReturnCode);
        Assert.Empty(aaaa.AnswerRecords);

        var a = new DnsMessage();
        Assert.True(EmbeddedDnsServer.Answer(Records, new DnsQuestion(DomainName.Parse("tasks.web"), RecordType.A, RecordClass.INet), a));
        Assert.Equal(2, a.AnswerRecords.OfType<ARecord>().Count());
        Assert.True(a.IsAuthoritiveAnswer);

        Assert.False(EmbeddedDnsServer.Answer(Records, new DnsQuestion(DomainName.Parse("example.org"), RecordType.A, RecordClass.INet), new DnsMessage()));
    }

    [Fact]
    public void Empty_Views_Know_No_Name() =>
        Assert.False(DnsRecords.From(ImmutableArray<NetworkView>.Empty).TryResolve("web", out _));
}
