using System.Collections.Immutable;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Tests.Networking;

/// <summary>Two overlays and an ingress as a manager would send them: front (web vip, db dnsrr), back (secret).</summary>
internal static class DnsFixtures
{
    public static NetworkEndpoint Task(string address, string service, string name, bool ready = true, params string[] aliases) =>
        new(address + "/24", "node1", "192.168.0.1", TaskId: name.Split('.')[^1], ServiceId: service, TaskName: name, Aliases: [.. aliases], Ready: ready);

    public static readonly NetworkView Front = new(
        "n-front", "front", 4097, "10.0.1.0/24", "10.0.1.1",
        Endpoints:
        [
            Task("10.0.1.5", "s-web", "web.1.aaaa", true, "w1"),
            Task("10.0.1.6", "s-web", "web.2.bbbb"),
            Task("10.0.1.7", "s-web", "web.3.cccc", ready: false),
            Task("10.0.1.8", "s-db", "db.1.dddd"),
            Task("10.0.1.9", "s-db", "db.2.eeee"),
            new NetworkEndpoint("10.0.1.250/24", "node1", "192.168.0.1"),
        ],
        Services:
        [
            new NetworkService("s-web", "web", ["www"], EndpointMode.Vip, "10.0.1.2/24", [new PortConfig(80, 8080)]),
            new NetworkService("s-db", "db", [], EndpointMode.Dnsrr),
        ]);

    public static readonly NetworkView Back = new(
        "n-back", "back", 4098, "10.0.2.0/24", "10.0.2.1",
        Endpoints: [Task("10.0.2.5", "s-secret", "secret.1.ffff")],
        Services: [new NetworkService("s-secret", "secret", [], EndpointMode.Vip, "10.0.2.2/24")]);

    public static readonly NetworkView Ingress = new(
        "n-ingress", "ingress", 4096, "10.255.0.0/16", "10.255.0.1", Ingress: true,
        Endpoints:
        [
            new NetworkEndpoint("10.255.0.5/16", "node1", "192.168.0.1", "aaaa", "s-web", "web.1.aaaa", Ready: true),
            new NetworkEndpoint("10.255.0.6/16", "node2", "192.168.0.2", "bbbb", "s-web", "web.2.bbbb", Ready: true),
            new NetworkEndpoint("10.255.0.7/16", "node2", "192.168.0.2", "cccc", "s-web", "web.3.cccc", Ready: false),
            new NetworkEndpoint("10.255.0.2/16", "node1", "192.168.0.1"),
            new NetworkEndpoint("10.255.0.3/16", "node2", "192.168.0.2"),
        ],
        Services: [new NetworkService("s-web", "web", [], EndpointMode.Vip, "10.255.0.4/16", [new PortConfig(80, 8080)])]);

    public static ImmutableArray<NetworkView> FrontOnly => [Front];
}
