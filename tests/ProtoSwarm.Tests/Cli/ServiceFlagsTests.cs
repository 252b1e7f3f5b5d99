using System.Collections.Immutable;
using ProtoSwarm.Cli.Commands;
using ProtoSwarm.Contracts;
using static ProtoSwarm.Tests.Cli.CliHarness;

namespace ProtoSwarm.Tests.Cli;

public class ServiceFlagsTests
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

    private static void AssertSame(ServiceSpec expected, ServiceSpec actual) =>
        Assert.Equal(ContractRegistry.SerializeTyped(expected), ContractRegistry.SerializeTyped(actual));

    private static ServiceSpec Created(params string[] pairs)
    {
        var spec = ServiceFlags.Create(Values(pairs), "nginx:1.27", [], () => "picked");
        Assert.Null(spec.Error);
        return spec.Value;
    }

    private static ServiceSpec Updated(ServiceSpec spec, params string[] pairs)
    {
        var updated = ServiceFlags.Update(spec, Values(pairs));
        Assert.Null(updated.Error);
        return updated.Value;
    }

    [Theory]
    [InlineData("--name", "web")]
    [InlineData("--mode", "replicated")]
    [InlineData("--mode", "global")]
    [InlineData("--mode", "replicated-job")]
    [InlineData("--mode", "global-job")]
    [InlineData("--replicas", "0")]
    [InlineData("--replicas", "12")]
    [InlineData("--max-concurrent", "2")]
    [InlineData("--image", "nginx:1.27@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("--args", "ping -c 3 'a host'")]
    [InlineData("--env", "A=1")]
    [InlineData("--env", "EMPTY=")]
    [InlineData("--env-add", "A=1")]
    [InlineData("--env-rm", "A")]
    [InlineData("--label", "tier=web")]
    [InlineData("--label", "flag")]
    [InlineData("--label-add", "a=b")]
    [InlineData("--label-rm", "a")]
    [InlineData("--container-label", "a=b")]
    [InlineData("--container-label-add", "a=b")]
    [InlineData("--container-label-rm", "a")]
    [InlineData("--constraint", "node.role==manager")]
    [InlineData("--constraint-add", "node.labels.zone!=a")]
    [InlineData("--constraint-rm", "node.role==manager")]
    [InlineData("--placement-pref", "spread=node.labels.zone")]
    [InlineData("--placement-pref-add", "spread=node.labels.rack")]
    [InlineData("--placement-pref-rm", "spread=node.labels.rack")]
    [InlineData("--replicas-max-per-node", "1")]
    [InlineData("--reserve-cpu", "0.5")]
    [InlineData("--reserve-memory", "512m")]
    [InlineData("--limit-cpu", "2")]
    [InlineData("--limit-memory", "1g")]
    [InlineData("--restart-condition", "on-failure")]
    [InlineData("--restart-delay", "5s")]
    [InlineData("--restart-max-attempts", "3")]
    [InlineData("--restart-window", "2m")]
    [InlineData("--update-parallelism", "2")]
    [InlineData("--update-delay", "10s")]
    [InlineData("--update-failure-action", "rollback")]
    [InlineData("--update-monitor", "1m30s")]
    [InlineData("--update-max-failure-ratio", "0.25")]
    [InlineData("--update-order", "start-first")]
    [InlineData("--rollback-parallelism", "0")]
    [InlineData("--rollback-delay", "300ms")]
    [InlineData("--rollback-failure-action", "continue")]
    [InlineData("--rollback-monitor", "0")]
    [InlineData("--rollback-max-failure-ratio", "1")]
    [InlineData("--rollback-order", "stop-first")]
    [InlineData("--health-cmd", "curl -f http://localhost/")]
    [InlineData("--health-interval", "30s")]
    [InlineData("--health-timeout", "5s")]
    [InlineData("--health-retries", "3")]
    [InlineData("--health-start-period", "1m")]
    [InlineData("--health-start-interval", "2s")]
    [InlineData("--stop-signal", "SIGINT")]
    [InlineData("--stop-signal", "15")]
    [InlineData("--stop-signal", "sigquit")]
    [InlineData("--stop-signal", "SIGRTMIN+3")]
    [InlineData("--stop-grace-period", "20s")]
    [InlineData("--workdir", "/app")]
    [InlineData("--user", "1000:1000")]
    [InlineData("--mount", "type=bind,source=/srv,target=/data,readonly")]
    [InlineData("--mount", "type=volume,source=data-{{.Task.Slot}},target=/data")]
    [InlineData("--hostname", "{{.Node.Hostname}}-{{.Task.Slot}}")]
    [InlineData("--secret", "source=db,target=/etc/db.pem")]
    [InlineData("--env", "NODE={{.Node.ID}}")]
    [InlineData("--env", "ROLE={{if eq .Task.Slot \"1\"}}primary{{else}}replica{{end}}")]
    [InlineData("--mount-add", "source=data,target=/data")]
    [InlineData("--mount-rm", "/data")]
    [InlineData("--publish", "8080:80")]
    [InlineData("--publish", "53:53/udp")]
    [InlineData("--publish", "published=8080,target=80,protocol=tcp,mode=host")]
    [InlineData("--publish-add", "9090:90")]
    [InlineData("--publish-rm", "80")]
    [InlineData("--publish-rm", "53/udp")]
    [InlineData("--publish-rm", "8080:80")]
    [InlineData("--publish-rm", "published=53,target=53,protocol=udp")]
    [InlineData("--endpoint-mode", "dnsrr")]
    [InlineData("--network", "backend")]
    [InlineData("--network", "name=backend,alias=db")]
    [InlineData("--network-add", "frontend")]
    [InlineData("--network-rm", "frontend")]
    [InlineData("--isolation", "default")]
    [InlineData("--isolation", "Default")]
    public void Good_Values_Pass_Their_Flag_Check(string flag, string value)
    {
        Assert.Null(ServiceFlags.Check(flag, value));
    }

    [Theory]
    [InlineData("--mode", "sideways", "use replicated, global, replicated-job or global-job")]
    [InlineData("--replicas", "-1", "--replicas '-1' is not a whole number")]
    [InlineData("--replicas", "2.5", "give 0 or more")]
    [InlineData("--max-concurrent", "many", "--max-concurrent 'many'")]
    [InlineData("--image", "nginx latest", "is not an image reference")]
    [InlineData("--args", "sh -c 'unclosed", "quote is never closed")]
    [InlineData("--env", "=1", "has no variable name")]
    [InlineData("--env-rm", "A=1", "must be a key alone")]
    [InlineData("--label", "=v", "needs a key")]
    [InlineData("--label-rm", "k=v", "must be a key alone")]
    [InlineData("--constraint", "node.role=manager", "has no operator")]
    [InlineData("--constraint", "==manager", "needs a key and a value")]
    [InlineData("--placement-pref", "node.labels.zone", "spread=node.labels.<name>")]
    [InlineData("--replicas-max-per-node", "-2", "is not a whole number")]
    [InlineData("--reserve-cpu", "half", "is not a number of CPUs")]
    [InlineData("--limit-cpu", "-1", "is not a number of CPUs")]
    [InlineData("--limit-cpu", "0.0000000001", "too precise")]
    [InlineData("--reserve-memory", "lots", "is not a size")]
    [InlineData("--limit-memory", "-512m", "is not a size")]
    [InlineData("--limit-memory", "1x", "e.g. --limit-memory 512m or 1g")]
    [InlineData("--restart-condition", "always", "use none, on-failure or any")]
    [InlineData("--restart-delay", "5", "is not a duration")]
    [InlineData("--restart-delay", "-5s", "is not a duration")]
    [InlineData("--restart-window", "soon", "--restart-window 'soon'")]
    [InlineData("--update-delay", "5x", "--update-delay '5x' is not a duration")]
    [InlineData("--update-failure-action", "explode", "use pause, continue or rollback")]
    [InlineData("--rollback-failure-action", "rollback", "use pause or continue")]
    [InlineData("--update-max-failure-ratio", "1.5", "from 0 to 1")]
    [InlineData("--rollback-max-failure-ratio", "-0.1", "from 0 to 1")]
    [InlineData("--update-order", "random", "use stop-first or start-first")]
    [InlineData("--update-monitor", "1d", "is not a duration")]
    [InlineData("--health-interval", "often", "is not a duration")]
    [InlineData("--health-retries", "-3", "is not a whole number")]
    [InlineData("--health-cmd", " ", "give the command to run")]
    [InlineData("--stop-signal", "kill me", "is not a signal")]
    [InlineData("--stop-signal", "SIGNOPE", "--stop-signal 'SIGNOPE' is not a signal; use a signal name such as SIGTERM")]
    [InlineData("--stop-signal", "99", "--stop-signal '99' is not a signal")]
    [InlineData("--stop-grace-period", "10 s", "is not a duration")]
    [InlineData("--workdir", "app", "is not an absolute path")]
    [InlineData("--user", "a b", "holds white space")]
    [InlineData("--hostname", "{{.Node.Name}}", "'{{.Node.Name}}' names nothing a service template has")]
    [InlineData("--env", "N={{.Node.Bogus}}", "'{{.Node.Bogus}}' names nothing a service template has")]
    [InlineData("--env-add", "X={{if .Task.Bogus}}y{{end}}", "'{{if .Task.Bogus}}' names nothing a service template has")]
    [InlineData("--env-add", "X={{if .Task.Slot}}y", "unexpected EOF")]
    [InlineData("--mount", "source=data-{{.Task.Slot,target=/d", "is never closed")]
    [InlineData("--mount", "type=nfs,target=/x", "type 'nfs' is not a mount type")]
    [InlineData("--mount", "source=data", "has no target")]
    [InlineData("--mount", "source=data,target=data", "is not an absolute path")]
    [InlineData("--mount", "type=bind,target=/x", "a bind mount needs source")]
    [InlineData("--mount", "type=tmpfs,source=x,target=/x", "a tmpfs mount has no source")]
    [InlineData("--mount", "target=/x,volume-driver=nfs", "volume-driver 'nfs' is not available")]
    [InlineData("--mount", "target=/x,readonly=maybe", "readonly takes true or false")]
    [InlineData("--mount-rm", "data", "is not a target path")]
    [InlineData("--publish", "8080:http", "is not a port mapping")]
    [InlineData("--publish", "70000:80", "ports are numbers from 1 to 65535")]
    [InlineData("--publish", "127.0.0.1:8080:80", "it takes no IP")]
    [InlineData("--publish", "8402-8400:80-82", "the range 8402-8400 runs backwards; write the lower port first (8400-8402)")]
    [InlineData("--publish", "8400-8402:82-80", "the range 82-80 runs backwards")]
    [InlineData("--publish", "8400-8402:80-81", "the published range 8400-8402 holds 3 ports and the target range 80-81 holds 2; give both ranges the same length (8400-8401:80-81)")]
    [InlineData("--publish", "8400:80-82", "one port (8400) is published for them; publish a range of the same length (8400-8402:80-82), or leave the published port out (80-82)")]
    [InlineData("--publish", "65534-65536:80-82", "'65536' in the range 65534-65536 is not a port; ports are numbers from 1 to 65535")]
    [InlineData("--publish", "0-2:80-82", "'0' in the range 0-2 is not a port")]
    [InlineData("--publish", "8400-:80", "'8400-' is not a port range; write a range as FIRST-LAST")]
    [InlineData("--publish", "published=8400-8402,target=82-80", "the range 82-80 runs backwards")]
    [InlineData("--publish", "published=8400-8401,target=80-82", "give both ranges the same length")]
    [InlineData("--publish-add", "8400-8402:80-81", "give both ranges the same length")]
    [InlineData("--publish-rm", "82-80", "the range 82-80 runs backwards")]
    [InlineData("--publish", "8080:80/sctp", "'8080:80/sctp': sctp is not supported: ProtoSwarm publishes tcp and udp ports only; use tcp or udp.")]
    [InlineData("--publish", "published=8080,target=80,protocol=SCTP", "sctp is not supported: ProtoSwarm publishes tcp and udp ports only; use tcp or udp.")]
    [InlineData("--publish", "8080:80/icmp", "'icmp' is not a protocol; use tcp or udp.")]
    [InlineData("--publish", "published=8080,target=80,protocol=icmp", "'icmp' is not a protocol; use tcp or udp.")]
    [InlineData("--publish", "published=8080", "has no target port")]
    [InlineData("--publish", "published=8080,target=80,mode=overlay", "mode 'overlay' is not ingress or host")]
    [InlineData("--publish", "published=8080,target=80,host=x", "'host' is not a port option")]
    [InlineData("--publish-rm", "http", "name the target port as <port>[/<protocol>]")]
    [InlineData("--endpoint-mode", "round-robin", "use vip or dnsrr")]
    [InlineData("--isolation", "process", "--isolation: Invalid isolation: \"process\" - linux only supports 'default'.")]
    [InlineData("--isolation", "hyperv", "Invalid isolation: \"hyperv\" - linux only supports 'default'.")]
    [InlineData("--isolation", "sandbox", "Invalid isolation: \"sandbox\" - linux only supports 'default'.")]
    [InlineData("--network", "name=,alias=x", "is not understood")]
    [InlineData("--network", "alias=x", "names no network")]
    public void Bad_Values_Are_Refused_Naming_The_Flag_And_The_Fix(string flag, string value, string expected)
    {
        var error = ServiceFlags.Check(flag, value);

        Assert.NotNull(error);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Contains(flag, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("300ms", 300)]
    [InlineData("1m30s", 90_000)]
    [InlineData("2h", 7_200_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData("0", 0)]
    [InlineData("0s", 0)]
    public void Durations_Read_As_Go_Writes_Them(string text, long milliseconds)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), ServiceFlags.Duration("--update-delay", text).Value);
    }

    [Theory]
    [InlineData("512m", 512L << 20)]
    [InlineData("1g", 1L << 30)]
    [InlineData("1.5g", 3L << 29)]
    [InlineData("1GiB", 1L << 30)]
    [InlineData("64k", 64L << 10)]
    [InlineData("4MB", 4L << 20)]
    [InlineData("100", 100)]
    public void Memory_Reads_As_Docker_Reads_It(string text, long bytes)
    {
        Assert.Equal(bytes, ServiceFlags.Memory("--limit-memory", text).Value);
    }

    [Theory]
    [InlineData("0.5", 500_000_000)]
    [InlineData("2", 2_000_000_000)]
    [InlineData("0.001", 1_000_000)]
    public void Cpus_Become_Nano_Cpus(string text, long nanos)
    {
        Assert.Equal(nanos, ServiceFlags.Cpu("--limit-cpu", text).Value);
    }

    [Theory]
    [InlineData("8080:80", 80, 8080, PortProtocol.Tcp, PublishMode.Ingress)]
    [InlineData("53:53/udp", 53, 53, PortProtocol.Udp, PublishMode.Ingress)]
    [InlineData("80", 80, 0, PortProtocol.Tcp, PublishMode.Ingress)]
    [InlineData("published=8080,target=80", 80, 8080, PortProtocol.Tcp, PublishMode.Ingress)]
    [InlineData("target=80,published=9000,protocol=udp,mode=host", 80, 9000, PortProtocol.Udp, PublishMode.Host)]
    public void Publish_Takes_Docker_Short_And_Long_Syntax(string text, int target, int published, PortProtocol protocol, PublishMode mode)
    {
        Assert.Equal([new PortConfig(target, published, protocol, mode)], ServiceFlags.Ports("--publish", text).Value.ToArray());
    }

    public static TheoryData<string, PortConfig[]> PortRanges() => new()
    {
        // Docker's rule: ranges of one length pair up, port by port.
        { "8400-8402:80-82", [new(80, 8400), new(81, 8401), new(82, 8402)] },
        // A published range onto one target port: each published port goes to it (docker's swarm expansion).
        { "8400-8402:80", [new(80, 8400), new(80, 8401), new(80, 8402)] },
        // A target range with nothing published: a free port for each.
        { "80-82", [new(80), new(81), new(82)] },
        { "8400-8401:80-81/udp", [new(80, 8400, PortProtocol.Udp), new(81, 8401, PortProtocol.Udp)] },
        { "8400-8400:80-80", [new(80, 8400)] },
        // The long syntax takes the same ranges (docker's takes none); protocol and mode hold for each port.
        { "published=8400-8402,target=80-82,protocol=udp,mode=host", [new(80, 8400, PortProtocol.Udp, PublishMode.Host), new(81, 8401, PortProtocol.Udp, PublishMode.Host), new(82, 8402, PortProtocol.Udp, PublishMode.Host)] },
        { "published=8400-8401,target=80", [new(80, 8400), new(80, 8401)] },
        { "target=80-81", [new(80), new(81)] },
    };

    [Theory]
    [MemberData(nameof(PortRanges))]
    public void Publish_Expands_A_Port_Range_Into_One_Port_Each_As_Docker_Does(string text, PortConfig[] expected)
    {
        var ports = ServiceFlags.Ports("--publish", text);

        Assert.Null(ports.Error);
        Assert.Equal(expected, ports.Value.ToArray());
        Assert.Null(ServiceFlags.Check("--publish", text));
    }

    [Fact]
    public void Create_And_Update_Publish_Every_Port_Of_A_Range_And_Remove_A_Range_By_Target()
    {
        var created = Created("--publish", "8400-8402:80-82", "--publish", "53:53/udp");
        Assert.Equal([new(80, 8400), new(81, 8401), new(82, 8402), new(53, 53, PortProtocol.Udp)], created.Endpoint.Ports.ToArray());

        var added = Updated(created, "--publish-add", "9000-9001:90-91");
        Assert.Equal(
            [new(80, 8400), new(81, 8401), new(82, 8402), new(53, 53, PortProtocol.Udp), new(90, 9000), new(91, 9001)],
            added.Endpoint.Ports.ToArray());

        // As docker's: a range given to --publish-rm names its target ports, and each goes, with its protocol.
        var removed = Updated(added, "--publish-rm", "80-81", "--publish-rm", "9000-9001:90-91");
        Assert.Equal([new(82, 8402), new(53, 53, PortProtocol.Udp)], removed.Endpoint.Ports.ToArray());
    }

    [Theory]
    [InlineData("type=bind,source=/srv,target=/data,readonly", MountType.Bind, "/srv", "/data", true)]
    [InlineData("source=data,target=/data", MountType.Volume, "data", "/data", false)]
    [InlineData("src=data,dst=/data,ro=false", MountType.Volume, "data", "/data", false)]
    [InlineData("type=volume,src=data,destination=/data,ro=1", MountType.Volume, "data", "/data", true)]
    [InlineData("type=tmpfs,target=/tmp", MountType.Tmpfs, "", "/tmp", false)]
    public void Mount_Takes_Docker_Csv_Syntax(string text, MountType type, string source, string target, bool readOnly)
    {
        Assert.Equal(new MountSpec(type, source, target, readOnly), ServiceFlags.Mount("--mount", text).Value);
    }

    [Fact]
    public void Mount_Reads_Tmpfs_Size_With_Units_And_An_Octal_Mode()
    {
        var mount = ServiceFlags.Mount("--mount", "type=tmpfs,dst=/cache,tmpfs-size=64m,tmpfs-mode=1770").Value;

        Assert.Equal(new MountSpec(MountType.Tmpfs, "", "/cache", TmpfsSizeBytes: 64L << 20, TmpfsMode: Convert.ToInt32("1770", 8)), mount);
    }

    [Fact]
    public void Mount_Reads_Volume_Nocopy_Labels_And_The_Local_Driver()
    {
        var mount = ServiceFlags.Mount("--mount", "type=volume,source=pgdata,target=/var/lib/pg,volume-nocopy,volume-label=app=db,volume-label=tier=back,volume-driver=local").Value;

        Assert.Equal(
            new MountSpec(MountType.Volume, "pgdata", "/var/lib/pg", VolumeNoCopy: true, VolumeLabels: ImmutableSortedDictionary<string, string>.Empty.Add("app", "db").Add("tier", "back"), VolumeDriver: "local"),
            mount);
        Assert.True(ServiceFlags.Mount("--mount", "target=/anon").IsValid);
        Assert.False(ServiceFlags.Mount("--mount", "src=v1,target=/d,volume-nocopy=false").Value.VolumeNoCopy);
    }

    [Fact]
    public void Mount_Reads_The_Local_Drivers_Options_With_Commas_In_A_Quoted_Field()
    {
        var mount = ServiceFlags.Mount("--mount", "type=volume,source=share,target=/share,volume-driver=local,volume-opt=type=nfs,\"volume-opt=o=addr=10.0.0.5,rw,nfsvers=4\",volume-opt=device=:/export").Value;

        Assert.Equal("local", mount.VolumeDriver);
        Assert.Equal(["device=:/export", "o=addr=10.0.0.5,rw,nfsvers=4", "type=nfs"], mount.VolumeOptions.Select(o => $"{o.Key}={o.Value}"));
        Assert.Equal(mount, ServiceFlags.Mount("--mount", "type=volume,source=share,target=/share,volume-driver=local,volume-opt=device=:/export,volume-opt=type=nfs,\"volume-opt=o=addr=10.0.0.5,rw,nfsvers=4\"").Value);
        Assert.NotEqual(mount, mount with { VolumeOptions = mount.VolumeOptions.SetItem("o", "addr=10.0.0.6") });
    }

    [Theory]
    [InlineData("a,b", new[] { "a", "b" })]
    [InlineData(" a ,\"b,c\", d", new[] { " a ", "b,c", " d" })]
    [InlineData("\"say \"\"hi\"\"\",x", new[] { "say \"hi\"", "x" })]
    public void Flag_Fields_Are_Read_As_Csv(string value, string[] fields)
    {
        Assert.Equal(fields, CsvRecord.Read("--mount", value).Value);
    }

    [Theory]
    [InlineData(" a , \"b,c\" ,d", "parse error on line 1, column 6: bare \" in non-quoted-field")]
    [InlineData("a=\"b\"", "parse error on line 1, column 3: bare \" in non-quoted-field")]
    public void A_Quote_Inside_A_Field_That_Does_Not_Start_With_One_Is_Refused_As_Gos_Csv_Reader_Refuses_It(string value, string error)
    {
        Assert.StartsWith($"--mount '{value}': {error}; ", CsvRecord.Read("--mount", value).Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("type=bind,source=/srv,target=/d,bind-propagation=rshared", MountPropagation.RShared, false)]
    [InlineData("type=bind,source=/srv,target=/d,bind-propagation=SLAVE", MountPropagation.Slave, false)]
    [InlineData("type=bind,source=/srv,target=/d,bind-propagation=rprivate", MountPropagation.RPrivate, false)]
    [InlineData("type=bind,source=/srv,target=/d,bind-nonrecursive", null, true)]
    [InlineData("type=bind,source=/srv,target=/d,bind-nonrecursive=false", null, false)]
    [InlineData("type=bind,source=/srv,target=/d,bind-recursive=disabled,bind-propagation=private", MountPropagation.Private, true)]
    [InlineData("type=bind,source=/srv,target=/d,bind-recursive=enabled", null, false)]
    public void Mount_Reads_Bind_Propagation_And_Recursion_Keeping_Only_A_Given_Propagation(string text, MountPropagation? propagation, bool nonRecursive)
    {
        Assert.Equal(
            new MountSpec(MountType.Bind, "/srv", "/d") { BindPropagation = propagation, BindNonRecursive = nonRecursive },
            ServiceFlags.Mount("--mount", text).Value);
    }

    [Theory]
    [InlineData("type=bind,source=/srv,target=/d,readonly", false, false, false)]
    [InlineData("type=bind,source=/srv,target=/d,readonly,bind-recursive=enabled", false, false, false)]
    [InlineData("type=bind,source=/srv,target=/d,readonly,bind-recursive=disabled", true, false, false)]
    [InlineData("type=bind,source=/srv,target=/d,readonly,bind-recursive=writable", false, true, false)]
    [InlineData("type=bind,source=/srv,target=/d,ro=true,bind-recursive=READONLY", false, false, true)]
    [InlineData("type=bind,source=/srv,target=/d,readonly,bind-recursive=readonly,bind-propagation=rprivate", false, false, true)]
    [InlineData("type=bind,source=/srv,target=/d,readonly,bind-recursive=writable,bind-recursive=enabled", false, false, false)]
    public void Mount_Reads_Docker_25s_Read_Only_Recursion(string text, bool nonRecursive, bool readOnlyNonRecursive, bool readOnlyForceRecursive)
    {
        var mount = ServiceFlags.Mount("--mount", text).Value;

        Assert.True(mount.ReadOnly);
        Assert.Equal((nonRecursive, readOnlyNonRecursive, readOnlyForceRecursive), (mount.BindNonRecursive, mount.BindReadOnlyNonRecursive, mount.BindReadOnlyForceRecursive));
    }

    [Theory]
    [InlineData("type=bind,source=/srv,target=/t,bind-propagation=both", "bind-propagation 'both' is not a propagation; use rprivate, private, rshared, shared, rslave or slave")]
    [InlineData("type=bind,source=/srv,target=/t,bind-propagation", "'bind-propagation' has no value")]
    [InlineData("type=volume,source=v1,target=/t,bind-propagation=rshared", "bind-propagation is for type=bind, not type=volume")]
    [InlineData("type=tmpfs,target=/t,bind-recursive=disabled", "bind-recursive is for type=bind, not type=tmpfs")]
    [InlineData("type=bind,source=/srv,target=/t,bind-recursive=sometimes", "bind-recursive 'sometimes' is not a choice; use enabled")]
    [InlineData("type=bind,source=/srv,target=/t,bind-recursive=writable", "bind-recursive=writable is for a read-only bind; add readonly")]
    [InlineData("type=bind,source=/srv,target=/t,readonly=false,bind-recursive=readonly", "bind-recursive=readonly is for a read-only bind; add readonly")]
    [InlineData("type=bind,source=/srv,target=/t,readonly,bind-recursive=readonly,bind-propagation=rshared", "bind-recursive=readonly needs bind-propagation=rprivate, not rshared")]
    [InlineData("type=volume,source=v1,target=/t,readonly,bind-recursive=readonly", "bind-recursive is for type=bind, not type=volume")]
    [InlineData("type=bind,source=/srv,target=/t,bind-nonrecursive=perhaps", "bind-nonrecursive takes true or false, not 'perhaps'")]
    [InlineData("type=tmpfs,target=/t,tmpfs-size=lots", "tmpfs-size 'lots' is not a size")]
    [InlineData("type=tmpfs,target=/t,tmpfs-mode=999", "tmpfs-mode '999' is not an octal file mode")]
    [InlineData("type=volume,source=v1,target=/t,tmpfs-size=1m", "tmpfs-size is for type=tmpfs, not type=volume")]
    [InlineData("type=bind,source=/srv,target=/t,volume-nocopy", "volume-nocopy is for type=volume, not type=bind")]
    [InlineData("type=volume,source=v1,target=/t,volume-driver=nfs", "volume-driver 'nfs' is not available")]
    [InlineData("type=volume,source=v1,target=/t,volume-opt=type=nfs", "missing required option: \"device\" (given with \"type\")")]
    [InlineData("type=volume,source=v1,target=/t,volume-opt=size=1m", "invalid option: \"size\"")]
    [InlineData("type=volume,source=v1,target=/t,volume-opt=type", "volume-opt 'type' is not KEY=VALUE")]
    [InlineData("type=bind,source=/srv,target=/t,volume-opt=type=tmpfs", "volume-opt is for type=volume, not type=bind")]
    [InlineData("type=volume,source=v1,target=/t,\"volume-opt=o=a,b", "a quote is not closed")]
    [InlineData("type=volume,source=v1,target=/t,colour=red", "'colour' is not a mount option")]
    [InlineData("type=volume,source=v1,target=/t,readonly=maybe", "readonly takes true or false, not 'maybe'")]
    [InlineData("type=volume,source=v1,target=/", "the target cannot be '/'")]
    [InlineData("type=volume,source=v1,target=data", "target 'data' is not an absolute path")]
    [InlineData("type=bind,source=srv,target=/t", "bind source 'srv' is not an absolute path")]
    [InlineData("type=bind,target=/t", "a bind mount needs source=")]
    [InlineData("type=tmpfs,source=x,target=/t", "a tmpfs mount has no source")]
    [InlineData("type=volume,source=-bad,target=/t", "'-bad' is not a valid volume name")]
    [InlineData("type=volume,source=v1,target=/t,volume-label==x", "volume-label '=x' has no name")]
    [InlineData("type=disk,target=/t", "type 'disk' is not a mount type")]
    [InlineData("source=v1", "has no target")]
    public void Mount_Refuses_Bad_Input_Naming_The_Key(string text, string expected)
    {
        var result = ServiceFlags.Mount("--mount", text);

        Assert.False(result.IsValid);
        Assert.StartsWith($"--mount '{text}'", result.Error, StringComparison.Ordinal);
        Assert.Contains(expected, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_Assembles_A_Whole_Spec_From_Every_Flag()
    {
        var spec = ServiceFlags.Create(
            Values(
                "--name", "web", "--replicas", "3", "--env", "A=1", "--env", "B=2", "--label", "tier=front", "--container-label", "c=d",
                "--constraint", "node.role==worker", "--placement-pref", "spread=node.labels.zone", "--replicas-max-per-node", "2",
                "--reserve-cpu", "0.25", "--reserve-memory", "64m", "--limit-cpu", "1", "--limit-memory", "1g",
                "--restart-condition", "on-failure", "--restart-delay", "3s", "--restart-max-attempts", "4", "--restart-window", "1m",
                "--update-parallelism", "2", "--update-delay", "10s", "--update-failure-action", "rollback", "--update-monitor", "30s",
                "--update-max-failure-ratio", "0.5", "--update-order", "start-first",
                "--rollback-parallelism", "0", "--rollback-failure-action", "continue", "--rollback-order", "start-first",
                "--health-cmd", "curl -f localhost", "--health-interval", "10s", "--health-timeout", "2s", "--health-retries", "5", "--health-start-period", "20s",
                "--health-start-interval", "1s", "--stop-signal", "SIGINT", "--stop-grace-period", "30s", "--workdir", "/app", "--user", "www",
                "--mount", "type=volume,source=data,target=/data", "--publish", "8080:80", "--publish", "published=9443,target=443,mode=host",
                "--endpoint-mode", "vip", "--network", "backend", "--network", "name=front,alias=web"),
            "nginx:1.27",
            ["nginx", "-g", "daemon off;"],
            () => "unused").Value;

        Assert.Equal("web", spec.Name);
        Assert.Equal(ServiceMode.ReplicatedMode(3), spec.Mode);
        Assert.Equal("front", spec.Labels["tier"]);
        var container = spec.TaskTemplate.Container;
        Assert.Equal("nginx:1.27", container.Image);
        Assert.Equal(["nginx", "-g", "daemon off;"], container.Args.ToArray());
        Assert.Empty(container.Command);
        Assert.Equal(["A=1", "B=2"], container.Env.ToArray());
        Assert.Equal("d", container.Labels["c"]);
        Assert.Equal(["node.role==worker"], spec.TaskTemplate.Placement.Constraints.ToArray());
        Assert.Equal("node.labels.zone", spec.TaskTemplate.Placement.Preferences.Single().SpreadDescriptor);
        Assert.Equal(2, spec.TaskTemplate.Placement.MaxReplicasPerNode);
        Assert.Equal(new ResourceRequirements(new ResourceAmounts(1_000_000_000, 1L << 30), new ResourceAmounts(250_000_000, 64L << 20)), spec.TaskTemplate.Resources);
        Assert.Equal(new RestartPolicy(RestartCondition.OnFailure, TimeSpan.FromSeconds(3), 4, TimeSpan.FromMinutes(1)), spec.TaskTemplate.Restart);
        Assert.Equal(new UpdateConfig(2, TimeSpan.FromSeconds(10), FailureAction.Rollback, TimeSpan.FromSeconds(30), 0.5, UpdateOrder.StartFirst), spec.Update);
        Assert.Equal(new UpdateConfig(0, TimeSpan.Zero, FailureAction.Continue, UpdateConfig.DefaultMonitor, 0, UpdateOrder.StartFirst), spec.Rollback);
        Assert.Equal(["CMD-SHELL", "curl -f localhost"], container.HealthCheck!.Test.ToArray());
        Assert.Equal((TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(2), 5L, TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(1)),
            (container.HealthCheck.Interval, container.HealthCheck.Timeout, container.HealthCheck.Retries, container.HealthCheck.StartPeriod, container.HealthCheck.StartInterval));
        Assert.Equal(("SIGINT", (TimeSpan?)TimeSpan.FromSeconds(30), "/app", "www"), (container.StopSignal, container.StopGracePeriod, container.Dir, container.User));
        Assert.Equal(new MountSpec(MountType.Volume, "data", "/data"), container.Mounts.Single());
        Assert.Equal([new PortConfig(80, 8080), new PortConfig(443, 9443, PortProtocol.Tcp, PublishMode.Host)], spec.Endpoint.Ports.ToArray());
        Assert.Equal(["backend", "front"], spec.TaskTemplate.Networks.Select(n => n.Target));
        Assert.Equal(["web"], spec.TaskTemplate.Networks[1].Aliases.ToArray());
    }

    [Fact]
    public void Create_Without_Flags_Uses_Swarm_Defaults_And_Picks_A_Name()
    {
        var spec = Created();

        Assert.Equal("picked", spec.Name);
        Assert.Equal(ServiceMode.ReplicatedMode(1), spec.Mode);
        Assert.Equal(RestartPolicy.Default, spec.TaskTemplate.Restart);
        Assert.Equal(UpdateConfig.Default, spec.Update);
        Assert.Equal((EndpointMode.Vip, 0), (spec.Endpoint.Mode, spec.Endpoint.Ports.Length));
        Assert.Null(spec.TaskTemplate.Container.HealthCheck);
    }

    [Fact]
    public void Entrypoint_Sets_The_Command_On_Create_And_Update_As_Shell_Words()
    {
        var created = Created("--entrypoint", "/bin/sh -c 'echo hi'");
        var updated = Updated(created, "--entrypoint", "/usr/bin/env");

        Assert.Equal(["/bin/sh", "-c", "echo hi"], created.TaskTemplate.Container.Command.ToArray());
        Assert.Equal(["/usr/bin/env"], updated.TaskTemplate.Container.Command.ToArray());
    }

    [Fact]
    public void A_Bare_Env_Or_Env_Add_Key_Takes_This_Shells_Value_And_Stays_Bare_When_The_Shell_Has_None()
    {
        var path = Environment.GetEnvironmentVariable("PATH");
        Assert.False(string.IsNullOrEmpty(path));

        var created = Created("--env", "PATH", "--env", "PROTOSWARM_NOT_SET_ANYWHERE", "--env", "EMPTY=");
        var updated = Updated(created with { TaskTemplate = created.TaskTemplate with { Container = created.TaskTemplate.Container with { Env = ["A=1"] } } },
            "--env-add", "PATH", "--env-add", "PROTOSWARM_NOT_SET_ANYWHERE");

        // As docker's ValidateEnv: the shell's value when it has one; a bare key otherwise (the container then has none).
        Assert.Equal(["PATH=" + path, "PROTOSWARM_NOT_SET_ANYWHERE", "EMPTY="], created.TaskTemplate.Container.Env.ToArray());
        Assert.Equal(["A=1", "PATH=" + path, "PROTOSWARM_NOT_SET_ANYWHERE"], updated.TaskTemplate.Container.Env.ToArray());
    }

    [Fact]
    public void Env_Files_Come_Before_Env_Flags_And_A_Bare_Key_Takes_This_Shells_Value()
    {
        var file = Path.Combine(Path.GetTempPath(), $"envfile-{Guid.NewGuid():N}");
        File.WriteAllText(file, "# comment\nA=from-file\nB=2\nPATH\nPROTOSWARM_NOT_SET_ANYWHERE\n");
        try
        {
            var spec = Created("--env-file", file, "--env", "A=from-flag");

            Assert.Equal(["A=from-flag", "B=2", "PATH=" + Environment.GetEnvironmentVariable("PATH")], spec.TaskTemplate.Container.Env.ToArray());
            Assert.Contains("--env-file /nonexistent/env: no such file", ServiceFlags.Create(Values("--env-file", "/nonexistent/env"), "nginx", [], () => "x").Error, StringComparison.Ordinal);
            File.WriteAllText(file, "OK=1\nBAD KEY=2\n");
            Assert.Contains("line 2: variable 'BAD KEY' holds white space", ServiceFlags.Create(Values("--env-file", file), "nginx", [], () => "x").Error, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Jobs_Restart_On_Failure_And_Complete_As_Many_As_Run_At_Once_By_Default()
    {
        var job = Created("--mode", "replicated-job", "--max-concurrent", "3");
        var counted = Created("--mode", "replicated-job", "--max-concurrent", "2", "--replicas", "10");
        var global = Created("--mode", "global-job");
        var replicas = Created("--mode", "replicated-job", "--replicas", "3");

        Assert.Equal(new ServiceMode(ServiceModeKind.ReplicatedJob, MaxConcurrent: 3, TotalCompletions: 3), job.Mode);
        // --max-concurrent's default is --replicas, as docker's help says: all three run at once.
        Assert.Equal(new ServiceMode(ServiceModeKind.ReplicatedJob, MaxConcurrent: 3, TotalCompletions: 3), replicas.Mode);
        Assert.Equal(new ServiceMode(ServiceModeKind.ReplicatedJob, MaxConcurrent: 2, TotalCompletions: 10), counted.Mode);
        Assert.Equal(RestartCondition.OnFailure, job.TaskTemplate.Restart.Condition);
        Assert.Equal(ServiceMode.GlobalJobMode, global.Mode);
    }

    [Theory]
    [InlineData("applies to replicated services and jobs only", "--mode", "global", "--replicas", "2")]
    [InlineData("applies to replicated jobs only", "--max-concurrent", "2")]
    [InlineData("--no-healthcheck conflicts with --health-cmd", "--no-healthcheck", "true", "--health-cmd", "true")]
    [InlineData("duplicate secret target for k2 not allowed", "--secret", "source=k1,target=same", "--secret", "source=k2,target=same")]
    [InlineData("duplicate config target for c2 not allowed", "--config", "source=c1,target=/etc/a", "--config", "source=c2,target=/etc/a")]
    [InlineData("duplicate mount target /x: two mounts name it", "--mount", "type=tmpfs,target=/x", "--mount", "type=volume,source=a1,target=/x")]
    [InlineData("duplicate mount target /x/: two mounts name it", "--mount", "type=tmpfs,target=/x", "--mount", "type=tmpfs,target=/x/")]
    public void Flags_That_Contradict_Each_Other_Are_Refused(string expected, params string[] pairs)
    {
        var spec = ServiceFlags.Create(Values(pairs), "nginx", [], () => "x");

        Assert.Contains(expected, spec.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void No_Healthcheck_Writes_None()
    {
        Assert.Equal(["NONE"], Created("--no-healthcheck", "true").TaskTemplate.Container.HealthCheck!.Test.ToArray());
    }

    [Fact]
    public void Publish_Rm_Takes_A_Port_As_Publish_Took_It_And_Removes_By_Target_And_Protocol()
    {
        var before = Created("--publish", "8080:80", "--publish", "53:53/udp", "--publish", "9000:53");

        var after = Updated(before, "--publish-rm", "8080:80", "--publish-rm", "published=1,target=53,protocol=udp");

        Assert.Equal([new PortConfig(53, 9000)], after.Endpoint.Ports.ToArray());
    }

    [Fact]
    public void Publish_Rm_Then_Add_Of_One_Target_Leaves_The_Added_Port_As_Docker_Does()
    {
        // docker's updatePorts: the removals apply to the ports as read, then the additions join.
        var before = Created("--publish", "8080:8080", "--publish", "53:53/udp");

        var after = Updated(before, "--publish-rm", "8080", "--publish-add", "9090:8080");

        Assert.Equal([new PortConfig(53, 53, PortProtocol.Udp), new PortConfig(8080, 9090)], after.Endpoint.Ports.ToArray());
    }

    [Fact]
    public void Network_Rm_Then_Add_Of_One_Network_Attaches_It_Again_With_The_New_Aliases()
    {
        var before = Created("--network", "front", "--network", "back");

        var after = Updated(before, "--network-rm", "front", "--network-add", "name=front,alias=two");

        Assert.Equal([("back", ""), ("front", "two")], after.TaskTemplate.Networks.Select(n => (n.Target, string.Join(',', n.Aliases))));
    }

    private static readonly NetworkObject[] SwarmNetworks =
    [
        new("frontid000000000000000000b", ObjectMeta.New(Joined), new NetworkSpec("front"), "10.0.1.0/24", "10.0.1.1", 4097),
        new("backid0000000000000000000c", ObjectMeta.New(Joined), new NetworkSpec("back"), "10.0.2.0/24", "10.0.2.1", 4098),
    ];

    private static Checked<ServiceSpec> UpdatedOnSwarm(ServiceSpec spec, params string[] pairs) =>
        ServiceFlags.Update(spec, Values(pairs), (flag, networkRef) => ServiceFlags.NetworkId(SwarmNetworks, flag, networkRef));

    [Theory]
    [InlineData("front")]
    [InlineData("frontid000000000000000000b")]
    [InlineData("fr")]
    public void Network_Rm_Finds_The_Stored_Id_By_Name_Id_Or_Id_Prefix(string networkRef)
    {
        var before = Created("--network", "frontid000000000000000000b", "--network", "backid0000000000000000000c");

        var after = UpdatedOnSwarm(before, "--network-rm", networkRef);

        Assert.Null(after.Error);
        Assert.Equal(["backid0000000000000000000c"], after.Value.TaskTemplate.Networks.Select(n => n.Target));
    }

    [Theory]
    [InlineData("bridge")]
    [InlineData("host")]
    public void Network_Add_And_Rm_Take_The_Nodes_Own_Networks_By_Name_Though_No_Swarm_Network_Has_It(string local)
    {
        var before = Created("--network", "frontid000000000000000000b");

        var added = UpdatedOnSwarm(before, "--network-add", local);
        var removed = UpdatedOnSwarm(added.Value, "--network-rm", local);

        Assert.Null(added.Error);
        Assert.Equal(["frontid000000000000000000b", local], added.Value.TaskTemplate.Networks.Select(n => n.Target));
        Assert.Null(removed.Error);
        Assert.Equal(["frontid000000000000000000b"], removed.Value.TaskTemplate.Networks.Select(n => n.Target));
    }

    [Theory]
    [InlineData("--network-rm", "nope", "--network-rm 'nope': network nope not found;")]
    [InlineData("--network-add", "name=nope,alias=x", "--network-add 'nope': network nope not found;")]
    [InlineData("--network-add", "fr", "--network-add 'fr': the service is already attached to network fr;")]
    [InlineData("--network-add", "name=front,alias=x", "--network-add 'name=front,alias=x': the service is already attached to network front;")]
    public void Network_Update_Refuses_An_Unknown_Network_And_One_Already_Attached_However_Named(string flag, string value, string start)
    {
        var before = Created("--network", "frontid000000000000000000b");

        var after = UpdatedOnSwarm(before, flag, value);

        Assert.StartsWith(start, after.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Update_Adds_Then_Removes_List_Entries_As_Docker_Does()
    {
        var before = Created(
            "--env", "A=1", "--env", "B=2", "--label", "x=1", "--label", "y=2", "--container-label", "c=1",
            "--constraint", "node.role==worker", "--placement-pref", "spread=node.labels.zone",
            "--mount", "source=data,target=/data", "--mount", "source=logs,target=/logs",
            "--publish", "8080:80", "--publish", "53:53/udp", "--network", "backend");

        var after = Updated(
            before,
            "--env-add", "A=changed", "--env-add", "C=3", "--env-rm", "B",
            "--label-add", "x=9", "--label-rm", "y",
            "--container-label-add", "d=2", "--container-label-rm", "c",
            "--constraint-add", "node.labels.ssd==true", "--constraint-rm", "node.role==worker",
            "--placement-pref-add", "spread=node.labels.rack", "--placement-pref-rm", "spread=node.labels.zone",
            "--mount-add", "type=volume,source=data2,target=/data", "--mount-rm", "/logs",
            "--publish-add", "9090:90", "--publish-rm", "53/udp",
            "--network-add", "frontend", "--network-rm", "backend");

        Assert.Equal(["A=changed", "C=3"], after.TaskTemplate.Container.Env.ToArray());
        Assert.Equal(new Dictionary<string, string> { ["x"] = "9" }, after.Labels);
        Assert.Equal(new Dictionary<string, string> { ["d"] = "2" }, after.TaskTemplate.Container.Labels);
        Assert.Equal(["node.labels.ssd==true"], after.TaskTemplate.Placement.Constraints.ToArray());
        Assert.Equal(["node.labels.rack"], after.TaskTemplate.Placement.Preferences.Select(p => p.SpreadDescriptor));
        Assert.Equal([new MountSpec(MountType.Volume, "data2", "/data")], after.TaskTemplate.Container.Mounts.ToArray());
        Assert.Equal([new PortConfig(80, 8080), new PortConfig(90, 9090)], after.Endpoint.Ports.ToArray());
        Assert.Equal(["frontend"], after.TaskTemplate.Networks.Select(n => n.Target));
    }

    [Fact]
    public void Label_Flags_Take_A_Key_Alone_As_An_Empty_Value_As_Docker_Does()
    {
        // docker's service --label/--container-label (ValidateLabel) and their -add (ConvertKVStringsToMap) take `key` for key="".
        var before = Created("--label", "web", "--container-label", "tier");

        var after = Updated(before, "--label-add", "ssd", "--container-label-add", "fast");

        Assert.Equal(new Dictionary<string, string> { ["ssd"] = "", ["web"] = "" }, after.Labels);
        Assert.Equal(new Dictionary<string, string> { ["fast"] = "", ["tier"] = "" }, after.TaskTemplate.Container.Labels);
    }

    [Theory]
    [InlineData("--secret", "db_password", "db_password", "db_password", "0", "0", 0x124)]
    [InlineData("--secret", "source=db_password,target=pw,uid=1000,gid=1001,mode=0400", "db_password", "pw", "1000", "1001", 0x100)]
    [InlineData("--secret", "src=tls,mode=256", "tls", "tls", "0", "0", 0x100)]
    [InlineData("--config", "nginx", "nginx", "nginx", "0", "0", 0x124)]
    [InlineData("--config", "source=nginx,target=conf.d/site.conf", "nginx", "conf.d/site.conf", "0", "0", 0x124)]
    [InlineData("--secret", "source=tls,target=certs/tls.pem", "tls", "certs/tls.pem", "0", "0", 0x124)]
    [InlineData("--config", "source=nginx,target=/etc/nginx/nginx.conf,mode=0o440", "nginx", "/etc/nginx/nginx.conf", "0", "0", 0x120)]
    public void Secret_And_Config_Take_Docker_Short_And_Csv_Syntax(string flag, string text, string source, string target, string uid, string gid, int mode)
    {
        var result = ServiceFlags.FileReferenceOf(flag, text);

        Assert.Null(result.Error);
        Assert.Equal((source, new FileTarget(target, uid, gid, mode)), result.Value);
    }

    [Theory]
    [InlineData("--secret", "source=db,foo=bar", "--secret 'source=db,foo=bar': 'foo' is not a secret option; use source, target, uid, gid or mode")]
    [InlineData("--secret", "target=pw", "names no secret: source= is missing")]
    [InlineData("--secret", "source=db,mode=0999", "mode '0999' is not a file mode")]
    [InlineData("--secret", "source=db,mode=01777", "mode '01777' is not a file mode")]
    [InlineData("--secret", "source=db,uid=root", "uid 'root' is not a number")]
    [InlineData("--secret", "source=db,target=/", "target '/' is not a file path")]
    [InlineData("--secret", "source=db,target=../db", "target '../db' is not a file path")]
    [InlineData("--secret-add", "source=db,target=", "'target=' has no value")]
    [InlineData("--config", "source=nginx,target=/etc/nginx/", "target '/etc/nginx/' is not a file path")]
    [InlineData("--config-add", "a,b", "names no config")]
    public void Secret_And_Config_Refuse_Bad_Input_Naming_The_Flag(string flag, string text, string expected)
    {
        Assert.Contains(expected, ServiceFlags.Check(flag, text), StringComparison.Ordinal);
        Assert.StartsWith(flag, ServiceFlags.Check(flag, text), StringComparison.Ordinal);
    }

    [Fact]
    public void Secrets_And_Configs_Are_Named_On_Create_And_Added_Or_Removed_By_Name_On_Update()
    {
        var before = Created("--secret", "db_password", "--secret", "source=tls,target=server.pem,mode=0400", "--config", "nginx");

        var after = Updated(before, "--secret-rm", "db_password", "--secret-add", "source=tls_v2,target=server.pem", "--secret-add", "api_key", "--config-rm", "nginx", "--config-add", "source=site,target=/etc/site.conf");

        Assert.Equal(
            [new SecretReference("", "db_password", new FileTarget("db_password")), new SecretReference("", "tls", new FileTarget("server.pem", Mode: 0x100))],
            before.TaskTemplate.Container.Secrets.ToArray());
        Assert.Equal([new ConfigReference("", "nginx", new FileTarget("nginx"))], before.TaskTemplate.Container.Configs.ToArray());
        Assert.Equal(
            [new SecretReference("", "tls_v2", new FileTarget("server.pem")), new SecretReference("", "api_key", new FileTarget("api_key"))],
            after.TaskTemplate.Container.Secrets.ToArray());
        Assert.Equal([new ConfigReference("", "site", new FileTarget("/etc/site.conf"))], after.TaskTemplate.Container.Configs.ToArray());
    }

    [Fact]
    public void Update_Changes_Only_What_Its_Flags_Name()
    {
        var before = Created("--replicas", "3", "--limit-memory", "1g", "--update-delay", "10s", "--health-cmd", "true");

        var after = Updated(before, "--replicas", "5", "--image", "nginx:1.28", "--args", "nginx -g 'daemon off;'", "--update-parallelism", "3", "--health-retries", "7", "--force", "true");

        Assert.Equal(5, after.Mode.Replicas);
        Assert.Equal("nginx:1.28", after.TaskTemplate.Container.Image);
        Assert.Equal(["nginx", "-g", "daemon off;"], after.TaskTemplate.Container.Args.ToArray());
        Assert.Equal(1L << 30, after.TaskTemplate.Resources.Limits.MemoryBytes);
        Assert.Equal(new UpdateConfig(3, TimeSpan.FromSeconds(10), FailureAction.Pause, UpdateConfig.DefaultMonitor, 0, UpdateOrder.StopFirst), after.Update);
        Assert.Equal(["CMD-SHELL", "true"], after.TaskTemplate.Container.HealthCheck!.Test.ToArray());
        Assert.Equal(7, after.TaskTemplate.Container.HealthCheck.Retries);
        Assert.Equal(1, after.TaskTemplate.ForceUpdate);
        AssertSame(before with { Mode = after.Mode, TaskTemplate = before.TaskTemplate with { Container = before.TaskTemplate.Container with { Image = "nginx:1.28", Args = after.TaskTemplate.Container.Args, HealthCheck = after.TaskTemplate.Container.HealthCheck }, ForceUpdate = 1 }, Update = after.Update }, after);
    }

    [Fact]
    public void A_Stop_Grace_Period_Of_Zero_Is_Kept_Apart_From_None()
    {
        var none = Created();
        var zero = Created("--stop-grace-period", "0s");

        // Docker keeps 0 (SIGKILL at once after the stop signal); left out, it is docker's 10 s.
        Assert.Null(none.TaskTemplate.Container.StopGracePeriod);
        Assert.Equal(TimeSpan.Zero, zero.TaskTemplate.Container.StopGracePeriod);
        Assert.Equal(TimeSpan.Zero, Updated(Created("--stop-grace-period", "20s"), "--stop-grace-period", "0").TaskTemplate.Container.StopGracePeriod);
        Assert.Equal(TimeSpan.Zero, Updated(zero, "--replicas", "2").TaskTemplate.Container.StopGracePeriod);
    }

    [Fact]
    public void Update_With_No_Flags_Returns_The_Same_Spec()
    {
        var before = Created("--replicas", "2", "--env", "A=1");

        AssertSame(before, Updated(before));
    }

    [Fact]
    public void Update_Refuses_Replicas_For_A_Global_Service()
    {
        var global = Spec() with { Mode = ServiceMode.GlobalMode };

        Assert.Contains("a global service runs one task", ServiceFlags.Update(global, Values("--replicas", "2")).Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Update_Of_A_Replicated_Job_Sets_Its_Completions()
    {
        var job = Spec() with { Mode = ServiceMode.ReplicatedJobMode(2, 4) };

        Assert.Equal(new ServiceMode(ServiceModeKind.ReplicatedJob, MaxConcurrent: 3, TotalCompletions: 8), Updated(job, "--replicas", "8", "--max-concurrent", "3").Mode);
    }

    [Fact]
    public void Health_Flags_Replace_A_Disabled_Healthcheck()
    {
        var disabled = Created("--no-healthcheck", "true");

        Assert.Equal(["CMD-SHELL", "pg_isready"], Updated(disabled, "--health-cmd", "pg_isready").TaskTemplate.Container.HealthCheck!.Test.ToArray());
    }

    [Theory]
    [InlineData("ping -c 3 host", new[] { "ping", "-c", "3", "host" })]
    [InlineData("sh -c \"echo 'hi there'\"", new[] { "sh", "-c", "echo 'hi there'" })]
    [InlineData("a\\ b  c", new[] { "a b", "c" })]
    [InlineData("''", new[] { "" })]
    [InlineData("", new string[0])]
    public void Args_Split_As_A_Shell_Would(string text, string[] words)
    {
        Assert.Equal(words, ServiceFlags.Words("--args", text).Value.ToArray());
    }

    [Theory]
    [InlineData("service create alpine ping -c 3 host", "service create alpine -- ping -c 3 host")]
    [InlineData("service create -e A=1 --replicas 2 -d alpine sh -c x", "service create -e A=1 --replicas 2 -d alpine -- sh -c x")]
    [InlineData("-H unix:///x.sock service create --name=web alpine -q", "-H unix:///x.sock service create --name=web alpine -- -q")]
    [InlineData("service create alpine", "service create alpine")]
    [InlineData("service create alpine -- ls", "service create alpine -- ls")]
    [InlineData("service update --args x web", "service update --args x web")]
    public void Everything_After_The_Image_Belongs_To_The_Container(string given, string expected)
    {
        Assert.Equal(expected, string.Join(' ', ServiceCommands.SeparateContainerCommand(given.Split(' '))));
    }

    [Fact]
    public void Every_Flag_Has_A_Description_And_Update_Has_No_Create_Only_Flag()
    {
        Assert.All(ServiceFlags.All, f => Assert.False(string.IsNullOrWhiteSpace(f.Description)));
        var update = ServiceFlags.For(FlagUse.Update).Select(f => f.Name).ToImmutableHashSet();
        Assert.DoesNotContain("--mode", update);
        Assert.DoesNotContain("--name", update);
        Assert.Contains("--env-add", update);
        Assert.DoesNotContain("--env-add", ServiceFlags.For(FlagUse.Create).Select(f => f.Name));
    }
}
