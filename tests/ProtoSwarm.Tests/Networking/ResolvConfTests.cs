using System.Net;
using ProtoSwarm.Networking.Dns;

namespace ProtoSwarm.Tests.Networking;

public sealed class DnsResolvConfTests
{
    private const string Host = """
        # from DHCP
        nameserver 192.168.1.1
        nameserver 127.0.0.11 ; a node that runs in a container
        nameserver fe80::1%eth0
        search corp.example lab.example
        options edns0 ndots:2
        """;

    [Fact]
    public void Parses_Nameservers_And_The_Last_Search_Line()
    {
        var conf = ResolvConf.Parse(Host);
        Assert.Equal(["192.168.1.1", "127.0.0.11", "fe80::1"], conf.Nameservers.Select(a => a.ToString()));
        Assert.Equal(["corp.example", "lab.example"], conf.Search.ToArray());
    }

    [Fact]
    public void Upstreams_Never_Include_The_Embedded_Server() =>
        Assert.DoesNotContain(IPAddress.Parse("127.0.0.11"), ResolvConf.Parse(Host).Upstreams);

    [Fact]
    public void A_Containers_Resolv_Conf_Names_The_Embedded_Server_With_Host_Search_And_Ndots_0() =>
        Assert.Equal(
            "nameserver 127.0.0.11\nsearch corp.example lab.example\noptions ndots:0\n",
            ResolvConf.Parse(Host).ForContainer());

    [Fact]
    public void Without_Search_Domains_There_Is_No_Search_Line() =>
        Assert.Equal("nameserver 127.0.0.11\noptions ndots:0\n", ResolvConf.Parse("nameserver 10.0.0.1\n").ForContainer());
}
