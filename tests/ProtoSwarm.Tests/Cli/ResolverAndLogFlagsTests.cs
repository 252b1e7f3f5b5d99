using System.Collections.Immutable;
using ProtoSwarm.Actors.Orchestration;
using ProtoSwarm.Cli.Commands;
using ProtoSwarm.Cli.Output;
using ProtoSwarm.Contracts;
using ProtoSwarm.Networking.Dns;

namespace ProtoSwarm.Tests.Cli;

/// <summary>--dns*, --log-driver and --log-opt: the flags, the shared rules, the managers' check, inspect, and the files a node writes.</summary>
public class ResolverAndLogFlagsTests
{
    private static FlagValues Values(params string[] pairs)
    {
        var values = new FlagValues();
        for (var i = 0; i < pairs.Length; i += 2)
        {
            values.Add(pairs[i], pairs[i + 1]);
        }

        return values;
    }

    private static ServiceSpec Created(params string[] pairs)
    {
        var spec = ServiceFlags.Create(Values(pairs), "busybox", [], () => "picked");
        Assert.Null(spec.Error);
        return spec.Value;
    }

    [Fact]
    public void Create_Takes_Dns_Servers_Search_Domains_And_Options_In_Order_Once_Each()
    {
        var dns = Created("--dns", "10.0.0.2", "--dns", "10.0.0.3", "--dns", "10.0.0.2", "--dns-search", "corp.example",
            "--dns-option", "ndots:2", "--dns-option", "timeout:1").TaskTemplate.Container.Dns;

        Assert.Equal(["10.0.0.2", "10.0.0.3"], dns.Nameservers.ToArray());
        Assert.Equal(["corp.example"], dns.Search.ToArray());
        Assert.Equal(["ndots:2", "timeout:1"], dns.Options.ToArray());
    }

    [Fact]
    public void Update_Adds_And_Removes_Dns_Values_And_Keeps_The_Rest()
    {
        var created = Created("--dns", "10.0.0.2", "--dns-search", "a.example", "--dns-option", "ndots:2");

        var updated = ServiceFlags.Update(created, Values("--dns-add", "10.0.0.9", "--dns-rm", "10.0.0.2", "--dns-search-add", "b.example", "--dns-option-rm", "ndots:2"));
        Assert.Null(updated.Error);
        var dns = updated.Value.TaskTemplate.Container.Dns;

        Assert.Equal(["10.0.0.9"], dns.Nameservers.ToArray());
        Assert.Equal(["a.example", "b.example"], dns.Search.ToArray());
        Assert.Empty(dns.Options);
        Assert.Equal(created.TaskTemplate.LogDriver, updated.Value.TaskTemplate.LogDriver);
    }

    [Theory]
    [InlineData("--dns", "dns.example", "--dns: 'dns.example' is not an IP address of a DNS server.")]
    [InlineData("--dns-search", "bad domain", "--dns-search: 'bad domain' is not a DNS search domain.")]
    [InlineData("--dns-option", "ndots 2", "--dns-option: 'ndots 2' is not a resolver option (written as name or name:number, e.g. ndots:2).")]
    [InlineData("--log-driver", "syslog", "--log-driver: log driver \"syslog\" is not supported; use json-file (the default), local or none: nodes keep task output in files that `service logs` reads.")]
    [InlineData("--log-opt", "max-size", "--log-opt 'max-size' is not an option; write it as key=value, e.g. --log-opt max-size=10m.")]
    public void Each_Value_Is_Checked_Alone_With_A_Sentence(string flag, string value, string expected) =>
        Assert.Equal(expected, ServiceFlags.Check(flag, value));

    [Fact]
    public void A_Log_Driver_Takes_Its_Options_And_Replaces_The_Whole_Driver_On_Update()
    {
        var created = Created("--log-driver", "json-file", "--log-opt", "max-size=1m", "--log-opt", "max-file=3");
        Assert.Equal("json-file", created.TaskTemplate.LogDriver!.Name);
        Assert.Equal(new Dictionary<string, string> { ["max-file"] = "3", ["max-size"] = "1m" }, created.TaskTemplate.LogDriver.Options);

        var updated = ServiceFlags.Update(created, Values("--log-driver", "local"));
        Assert.Null(updated.Error);
        Assert.Equal("local", updated.Value.TaskTemplate.LogDriver!.Name);
        Assert.Empty(updated.Value.TaskTemplate.LogDriver.Options);

        var untouched = ServiceFlags.Update(created, Values("--env-add", "A=1"));
        Assert.Same(created.TaskTemplate.LogDriver, untouched.Value.TaskTemplate.LogDriver);
    }

    [Fact]
    public void Log_Options_Without_A_Driver_Or_That_The_Driver_Lacks_Are_Refused_Not_Dropped()
    {
        var created = ServiceFlags.Create(Values("--log-opt", "max-size=1m"), "busybox", [], () => "x");
        Assert.Equal("--log-opt needs --log-driver: the options replace the driver's, e.g. --log-driver json-file --log-opt max-size=10m.", created.Error);

        var none = ServiceFlags.Create(Values("--log-driver", "none", "--log-opt", "max-size=1m"), "busybox", [], () => "x");
        Assert.Equal("--log-driver none: the none driver takes no options, and max-size is given; remove the options, or choose json-file.", none.Error);

        var tag = ServiceFlags.Create(Values("--log-driver", "json-file", "--log-opt", "tag={{.Name}}"), "busybox", [], () => "x");
        Assert.Equal("--log-driver json-file: log option 'tag' is not supported by json-file; use max-size (e.g. 10m), max-file (e.g. 3) or compress=false.", tag.Error);
    }

    [Theory]
    [InlineData("4096", 4096L)]
    [InlineData("512k", 512L * 1024)]
    [InlineData("10m", 10L << 20)]
    [InlineData("10MB", 10L << 20)]
    [InlineData("1.5g", 3L << 29)]
    [InlineData("1 GiB", 1L << 30)]
    [InlineData("100", null)]
    [InlineData("-1", null)]
    [InlineData("ten", null)]
    [InlineData("10x", null)]
    public void Max_Size_Reads_Dockers_Sizes_Of_At_Least_A_Page(string text, long? expected) =>
        Assert.Equal(expected, LogDriverRule.SizeOf(text));

    [Fact]
    public void A_Node_Keeps_Output_By_The_Driver_Or_Its_Bounded_Default()
    {
        Assert.Equal((10L << 20, 2), LogDriverRule.Files(null));
        Assert.Equal((10L << 20, 2), LogDriverRule.Files(new LogDriver("json-file")));
        Assert.Equal((20L << 20, 5), LogDriverRule.Files(new LogDriver("local")));
        Assert.Equal((1L << 20, 3), LogDriverRule.Files(new LogDriver("json-file", Options(("max-size", "1m"), ("max-file", "3")))));
        Assert.Null(LogDriverRule.Files(new LogDriver("none")));
    }

    [Fact]
    public void The_Managers_Refuse_What_An_Api_Client_Sends_Past_The_Cli()
    {
        var spec = Created() with
        {
            TaskTemplate = Created().TaskTemplate with
            {
                Container = Created().TaskTemplate.Container with { Dns = new DnsConfig(["10.0.0.300"], ["ok.example"], ["rotate"]) },
                LogDriver = new LogDriver("gelf", Options(("gelf-address", "udp://x"))),
            },
        };

        var problems = ServiceSpecValidator.Validate(spec);

        Assert.Equal(["Spec.TaskTemplate.ContainerSpec.DNSConfig.Nameservers[0]", "Spec.TaskTemplate.LogDriver.Name"], problems.Select(p => p.Field));
        Assert.Empty(ServiceSpecValidator.Validate(Created("--dns", "10.0.0.2", "--log-driver", "local", "--log-opt", "max-file=2", "--log-opt", "compress=false")));
    }

    [Fact]
    public void Inspect_Shows_The_Dns_Config_After_Hosts_And_The_Log_Driver_Before_ForceUpdate_As_Docker()
    {
        var spec = Created("--host", "db:10.0.0.5", "--dns", "10.0.0.2", "--dns-option", "ndots:1", "--log-driver", "json-file", "--log-opt", "max-size=1m");
        var service = CliHarness.Service(spec: spec);

        var json = ServiceView.Inspect(new ServiceDetails(service, new ServiceReplicas(1, 1)));

        var template = json["Spec"]!["TaskTemplate"]!.AsObject();
        var container = template["ContainerSpec"]!.AsObject();
        Assert.Equal("""{"Nameservers":["10.0.0.2"],"Options":["ndots:1"]}""", Json.Line(container["DNSConfig"]));
        Assert.Equal("DNSConfig", container.Select(p => p.Key).SkipWhile(k => k != "Hosts").Skip(1).First());
        Assert.Equal("""{"Name":"json-file","Options":{"max-size":"1m"}}""", Json.Line(template["LogDriver"]));
        Assert.Equal(["LogDriver", "ForceUpdate"], template.Select(p => p.Key).TakeLast(2));

        var pretty = ServiceView.Pretty(new ServiceDetails(service, new ServiceReplicas(1, 1)));
        Assert.EndsWith("Log Driver:\n Name:              json-file\n LogOpts:\n  max-size:         1m\n", pretty, StringComparison.Ordinal);
    }

    [Fact]
    public void A_Tasks_Resolv_Conf_Takes_The_Services_Search_And_Options_And_Keeps_Ndots_0_Unless_Given()
    {
        var host = ResolvConf.Parse("nameserver 192.168.1.1\nsearch corp.example\n");

        Assert.Equal("nameserver 127.0.0.11\nsearch a.example b.example\noptions ndots:0 timeout:1\n",
            host.ForContainer(new DnsConfig(["10.0.0.2"], ["a.example", "b.example"], ["timeout:1"])));
        Assert.Equal("nameserver 127.0.0.11\nsearch corp.example\noptions ndots:3\n", host.ForContainer(new DnsConfig(Options: ["ndots:3"])));
        Assert.Equal("nameserver 127.0.0.11\noptions ndots:0\n", host.ForContainer(new DnsConfig(Search: ["."])));
    }

    [Fact]
    public void A_Task_On_No_Network_Gets_The_Services_Servers_Else_The_Hosts_And_The_Hosts_File_When_Nothing_Is_Set()
    {
        var host = ResolvConf.Parse("nameserver 192.168.1.1\nnameserver 127.0.0.11\nsearch corp.example\n");

        Assert.Equal("nameserver 10.0.0.2\nnameserver 10.0.0.3\nsearch corp.example\n", host.ForContainerWithoutNetwork(new DnsConfig(["10.0.0.2", "10.0.0.3"])));
        Assert.Equal("nameserver 192.168.1.1\nsearch x.example\noptions ndots:2\n", host.ForContainerWithoutNetwork(new DnsConfig(Search: ["x.example"], Options: ["ndots:2"])));
        Assert.Null(host.ForContainerWithoutNetwork(DnsConfig.None));
    }

    [Fact]
    public void A_Task_On_The_Bridge_Gets_The_Hosts_Resolvers_It_Can_Reach_Else_Dockers_Fallback()
    {
        // A loopback resolver of the node (systemd-resolved's, or the node's own embedded one) is the task itself in its namespace.
        var resolved = ResolvConf.Parse("nameserver 127.0.0.53\nnameserver 10.1.2.3\nsearch corp.example\noptions edns0\n");
        Assert.Equal("nameserver 10.1.2.3\nsearch corp.example\n", resolved.ForBridge(DnsConfig.None));
        Assert.Equal("nameserver 8.8.8.8\nnameserver 8.8.4.4\nsearch corp.example\n", ResolvConf.Parse("nameserver 127.0.0.53\nsearch corp.example\n").ForBridge(DnsConfig.None));
        Assert.Equal("nameserver 8.8.8.8\nnameserver 8.8.4.4\n", ResolvConf.Parse("").ForBridge(DnsConfig.None));

        // Reachable resolvers and nothing set by the service: the host's file as it is (its options kept).
        Assert.Null(ResolvConf.Parse("nameserver 10.1.2.3\noptions edns0\n").ForBridge(DnsConfig.None));

        // The service's --dns servers win, loopback or not (the operator asked), with its search domains and options.
        Assert.Equal("nameserver 10.0.0.2\nsearch x.example\noptions ndots:2\n",
            resolved.ForBridge(new DnsConfig(["10.0.0.2"], ["x.example"], ["ndots:2"])));
        Assert.Equal("nameserver 10.1.2.3\nsearch x.example\n", resolved.ForBridge(new DnsConfig(Search: ["x.example"])));
    }

    [Fact]
    public void The_Template_Keeps_Both_Through_The_Stores_Encoding()
    {
        var spec = Created("--dns", "10.0.0.2", "--dns-search", "a.example", "--log-driver", "local", "--log-opt", "max-file=2");

        var copy = MessagePack.MessagePackSerializer.Deserialize<ServiceSpec>(SpecEquality.Bytes(spec), ContractRegistry.Options);

        Assert.True(SpecEquality.SameTasks(spec, copy));
        Assert.Equal(["10.0.0.2"], copy.TaskTemplate.Container.Dns.Nameservers.ToArray());
        Assert.Equal("2", copy.TaskTemplate.LogDriver!.Options["max-file"]);
        Assert.False(SpecEquality.SameTasks(spec, Created("--dns", "10.0.0.2", "--dns-search", "a.example")));
    }

    private static ImmutableSortedDictionary<string, string> Options(params (string Key, string Value)[] pairs) =>
        ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, pairs.Select(p => KeyValuePair.Create(p.Key, p.Value)));
}
