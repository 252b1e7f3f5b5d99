using System.Collections.Immutable;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Actors.Orchestration;
using ProtoSwarm.Contracts;
using static ProtoSwarm.Tests.Orchestration.TestServices;

namespace ProtoSwarm.Tests.Orchestration;

public class ServiceSpecValidatorTests
{
    private static ContainerSpec Container(ServiceSpec spec) => spec.TaskTemplate.Container;

    private static ServiceSpec WithContainer(ServiceSpec spec, Func<ContainerSpec, ContainerSpec> change) => spec.With(t => t with { Container = change(t.Container) });

    private static ServiceSpec WithPlacement(ServiceSpec spec, Placement placement) => spec.With(t => t with { Placement = placement });

    private static ServiceSpec WithResources(ServiceSpec spec, ResourceAmounts limits, ResourceAmounts reservations) =>
        spec.With(t => t with { Resources = new ResourceRequirements(limits, reservations) });

    private static ServiceSpec WithPorts(ServiceSpec spec, params PortConfig[] ports) => spec with { Endpoint = new EndpointSpec(Ports: [.. ports]) };

    private static ServiceSpec Job(ServiceMode mode) => (Spec() with { Mode = mode }).With(t => t with { Restart = RestartPolicy.JobDefault });

    private const long MiB = 1L << 20;

    /// <summary>Each case: one mistake, the field it must be reported on, and a word the problem must contain.</summary>
    public static TheoryData<string, ServiceSpec, string, string> BadSpecs()
    {
        var ok = Spec();
        return new TheoryData<string, ServiceSpec, string, string>
        {
            { "negative replicas", ok with { Mode = ServiceMode.ReplicatedMode(-1) }, "Spec.Mode.Replicated.Replicas", "negative" },
            { "negative job concurrency", Job(ServiceMode.ReplicatedJobMode(-2, 3)), "Spec.Mode.ReplicatedJob.MaxConcurrent", "negative" },
            { "negative completions", Job(ServiceMode.ReplicatedJobMode(1, -3)), "Spec.Mode.ReplicatedJob.TotalCompletions", "negative" },
            { "job restarting on any exit", ok with { Mode = ServiceMode.GlobalJobMode }, "Spec.TaskTemplate.RestartPolicy.Condition", "never complete" },
            { "no name", ok with { Name = "" }, "Spec.Name", "no name" },
            { "bad name", ok with { Name = "_web" }, "Spec.Name", "not a valid" },
            { "empty label name", ok with { Labels = ImmutableSortedDictionary<string, string>.Empty.Add(" ", "x") }, "Spec.Labels", "empty name" },
            { "empty image", WithContainer(ok, c => c with { Image = "" }), "Spec.TaskTemplate.ContainerSpec.Image", "no image" },
            { "image with a space", WithContainer(ok, c => c with { Image = "nginx latest" }), "Spec.TaskTemplate.ContainerSpec.Image", "white space" },
            { "env without a name", WithContainer(ok, c => c with { Env = ["A=1", "=2"] }), "Spec.TaskTemplate.ContainerSpec.Env[1]", "no variable name" },
            { "relative mount target", WithContainer(ok, c => c with { Mounts = [new MountSpec(MountType.Volume, "data", "data")] }), "Spec.TaskTemplate.ContainerSpec.Mounts[0].Target", "absolute" },
            { "mount target twice", WithContainer(ok, c => c with { Mounts = [new MountSpec(MountType.Volume, "data", "/d"), new MountSpec(MountType.Tmpfs, "", "/d/")] }), "Spec.TaskTemplate.ContainerSpec.Mounts[1].Target", "twice" },
            { "relative bind source", WithContainer(ok, c => c with { Mounts = [new MountSpec(MountType.Bind, "srv", "/d")] }), "Spec.TaskTemplate.ContainerSpec.Mounts[0].Source", "absolute host path" },
            { "volume named by a path", WithContainer(ok, c => c with { Mounts = [new MountSpec(MountType.Volume, "/srv", "/d")] }), "Spec.TaskTemplate.ContainerSpec.Mounts[0].Source", "not a volume name" },
            { "tmpfs with a source", WithContainer(ok, c => c with { Mounts = [new MountSpec(MountType.Tmpfs, "x", "/d")] }), "Spec.TaskTemplate.ContainerSpec.Mounts[0].Source", "no source" },
            { "a volume driver nodes lack", WithContainer(ok, c => c with { Mounts = [new MountSpec(MountType.Volume, "vol", "/d", VolumeDriver: "nfs")] }), "Spec.TaskTemplate.ContainerSpec.Mounts[0].VolumeOptions.DriverConfig.Name", "only the local driver" },
            { "volume options the local driver refuses", WithContainer(ok, c => c with { Mounts = [new MountSpec(MountType.Volume, "vol", "/d", VolumeOptions: ImmutableSortedDictionary<string, string>.Empty.Add("device", "tmpfs"))] }), "Spec.TaskTemplate.ContainerSpec.Mounts[0].VolumeOptions.DriverConfig.Options", "missing required option: \"type\"" },
            { "volume options on a bind", WithContainer(ok, c => c with { Mounts = [new MountSpec(MountType.Bind, "/srv", "/d", VolumeOptions: ImmutableSortedDictionary<string, string>.Empty.Add("type", "tmpfs").Add("device", "tmpfs"))] }), "Spec.TaskTemplate.ContainerSpec.Mounts[0].VolumeOptions", "volume options on a bind mount" },
            { "mount on the root", WithContainer(ok, c => c with { Mounts = [new MountSpec(MountType.Tmpfs, "", "/")] }), "Spec.TaskTemplate.ContainerSpec.Mounts[0].Target", "the container's root" },
            { "mount target with ..", WithContainer(ok, c => c with { Mounts = [new MountSpec(MountType.Tmpfs, "", "/a/../etc")] }), "Spec.TaskTemplate.ContainerSpec.Mounts[0].Target", "'..'" },
            { "a template naming nothing", WithContainer(ok, c => c with { Hostname = "{{.Node.Name}}" }), "Spec.TaskTemplate.ContainerSpec.Hostname", "names nothing a service template has" },
            { "a template giving no volume name", WithContainer(ok, c => c with { Mounts = [new MountSpec(MountType.Volume, "{{.Task.Slot}}", "/d")] }), "Spec.TaskTemplate.ContainerSpec.Mounts[0].Source", "not a valid volume name" },
            { "image not lowercase", WithContainer(ok, c => c with { Image = "BusyBox:Latest" }), "Spec.TaskTemplate.ContainerSpec.Image", "invalid reference format" },
            { "image with an empty tag", WithContainer(ok, c => c with { Image = "busybox:" }), "Spec.TaskTemplate.ContainerSpec.Image", "the tag '' is not valid" },
            { "bad volume name", WithContainer(ok, c => c with { Mounts = [new MountSpec(MountType.Volume, "-x", "/d")] }), "Spec.TaskTemplate.ContainerSpec.Mounts[0].Source", "not a valid volume name" },
            { "one-letter volume name", WithContainer(ok, c => c with { Mounts = [new MountSpec(MountType.Volume, "x", "/d")] }), "Spec.TaskTemplate.ContainerSpec.Mounts[0].Source", "at least two characters" },
            { "tmpfs size on a volume", WithContainer(ok, c => c with { Mounts = [new MountSpec(MountType.Volume, "data", "/d", TmpfsSizeBytes: 10)] }), "Spec.TaskTemplate.ContainerSpec.Mounts[0].TmpfsOptions", "tmpfs options on a volume" },
            { "nocopy on a bind", WithContainer(ok, c => c with { Mounts = [new MountSpec(MountType.Bind, "/srv", "/d", VolumeNoCopy: true)] }), "Spec.TaskTemplate.ContainerSpec.Mounts[0].VolumeOptions", "volume options on a bind" },
            { "propagation on a volume", WithContainer(ok, c => c with { Mounts = [new MountSpec(MountType.Volume, "data", "/d") { BindPropagation = MountPropagation.RShared }] }), "Spec.TaskTemplate.ContainerSpec.Mounts[0].BindOptions", "bind options on a volume" },
            { "non-recursive tmpfs", WithContainer(ok, c => c with { Mounts = [new MountSpec(MountType.Tmpfs, "", "/d") { BindNonRecursive = true }] }), "Spec.TaskTemplate.ContainerSpec.Mounts[0].BindOptions", "bind options on a tmpfs" },
            { "writable recursion of a writable bind", WithContainer(ok, c => c with { Mounts = [new MountSpec(MountType.Bind, "/srv", "/d") { BindReadOnlyNonRecursive = true }] }), "Spec.TaskTemplate.ContainerSpec.Mounts[0].BindOptions.ReadOnlyNonRecursive", "bind-recursive=writable is for a read-only bind" },
            { "forced read-only recursion of a writable bind", WithContainer(ok, c => c with { Mounts = [new MountSpec(MountType.Bind, "/srv", "/d") { BindReadOnlyForceRecursive = true }] }), "Spec.TaskTemplate.ContainerSpec.Mounts[0].BindOptions.ReadOnlyForceRecursive", "bind-recursive=readonly is for a read-only bind" },
            { "both read-only recursions", WithContainer(ok, c => c with { Mounts = [new MountSpec(MountType.Bind, "/srv", "/d", ReadOnly: true) { BindReadOnlyNonRecursive = true, BindReadOnlyForceRecursive = true }] }), "Spec.TaskTemplate.ContainerSpec.Mounts[0].BindOptions", "ReadOnlyNonRecursive and ReadOnlyForceRecursive together" },
            { "forced read-only recursion of a shared bind", WithContainer(ok, c => c with { Mounts = [new MountSpec(MountType.Bind, "/srv", "/d", ReadOnly: true) { BindReadOnlyForceRecursive = true, BindPropagation = MountPropagation.RShared }] }), "Spec.TaskTemplate.ContainerSpec.Mounts[0].BindOptions.Propagation", "needs propagation rprivate, not rshared" },
            { "read-only recursion of a volume", WithContainer(ok, c => c with { Mounts = [new MountSpec(MountType.Volume, "data", "/d", ReadOnly: true) { BindReadOnlyForceRecursive = true }] }), "Spec.TaskTemplate.ContainerSpec.Mounts[0].BindOptions", "bind options on a volume" },
            { "unknown propagation", WithContainer(ok, c => c with { Mounts = [new MountSpec(MountType.Bind, "/srv", "/d") { BindPropagation = (MountPropagation)9 }] }), "Spec.TaskTemplate.ContainerSpec.Mounts[0].BindOptions.Propagation", "not a mount propagation" },
            { "negative tmpfs size", WithContainer(ok, c => c with { Mounts = [new MountSpec(MountType.Tmpfs, "", "/d", TmpfsSizeBytes: -1)] }), "Spec.TaskTemplate.ContainerSpec.Mounts[0].TmpfsOptions.SizeBytes", "negative" },
            { "tmpfs mode too large", WithContainer(ok, c => c with { Mounts = [new MountSpec(MountType.Tmpfs, "", "/d", TmpfsMode: 0x1000)] }), "Spec.TaskTemplate.ContainerSpec.Mounts[0].TmpfsOptions.Mode", "not a file mode" },
            { "health test kind", WithContainer(ok, c => c with { HealthCheck = new HealthCheck(["curl", "localhost"]) }), "Spec.TaskTemplate.ContainerSpec.Healthcheck.Test", "starts with 'curl'" },
            { "health test without a command", WithContainer(ok, c => c with { HealthCheck = new HealthCheck(["CMD-SHELL"]) }), "Spec.TaskTemplate.ContainerSpec.Healthcheck.Test", "no command" },
            { "health interval under 1ms", WithContainer(ok, c => c with { HealthCheck = new HealthCheck(["NONE"], Interval: TimeSpan.FromTicks(10)) }), "Spec.TaskTemplate.ContainerSpec.Healthcheck.Interval", "less than 1ms" },
            { "health interval under 1ms, said as Go says it", WithContainer(ok, c => c with { HealthCheck = new HealthCheck(["NONE"], Interval: TimeSpan.FromMicroseconds(500)) }), "Spec.TaskTemplate.ContainerSpec.Healthcheck.Interval", "500µs is less than 1ms" },
            { "negative health timeout", WithContainer(ok, c => c with { HealthCheck = new HealthCheck(["NONE"], Timeout: TimeSpan.FromSeconds(-1)) }), "Spec.TaskTemplate.ContainerSpec.Healthcheck.Timeout", "negative" },
            { "negative health retries", WithContainer(ok, c => c with { HealthCheck = new HealthCheck(["NONE"], Retries: -1) }), "Spec.TaskTemplate.ContainerSpec.Healthcheck.Retries", "negative" },
            { "secret target outside its path", WithContainer(ok, c => c with { Secrets = [new SecretReference("s1", "db", new FileTarget("/etc/../db"))] }), "Spec.TaskTemplate.ContainerSpec.Secrets[0].File.Name", "is not a file path" },
            { "secret target a directory", WithContainer(ok, c => c with { Secrets = [new SecretReference("s1", "db", new FileTarget("a/"))] }), "Spec.TaskTemplate.ContainerSpec.Secrets[0].File.Name", "is not a file path" },
            { "secret target ..", WithContainer(ok, c => c with { Secrets = [new SecretReference("s1", "db", new FileTarget(".."))] }), "Spec.TaskTemplate.ContainerSpec.Secrets[0].File.Name", "is not a file path" },
            { "secret target twice", WithContainer(ok, c => c with { Secrets = [new SecretReference("s1", "a", new FileTarget("k")), new SecretReference("s2", "b", new FileTarget("k"))] }), "Spec.TaskTemplate.ContainerSpec.Secrets[1].File.Name", "duplicate secret target for k not allowed" },
            { "secret mode beyond 0777", WithContainer(ok, c => c with { Secrets = [new SecretReference("s1", "db", new FileTarget("db", Mode: 0x200))] }), "Spec.TaskTemplate.ContainerSpec.Secrets[0].File.Mode", "more than the permission bits" },
            { "secret owner by name", WithContainer(ok, c => c with { Secrets = [new SecretReference("s1", "db", new FileTarget("db", Gid: "staff"))] }), "Spec.TaskTemplate.ContainerSpec.Secrets[0].File.GID", "not a numeric gid" },
            { "relative config target with ..", WithContainer(ok, c => c with { Configs = [new ConfigReference("c1", "site", new FileTarget("../site.conf"))] }), "Spec.TaskTemplate.ContainerSpec.Configs[0].File.Name", "is not a file path" },
            { "config targets the same file, one relative", WithContainer(ok, c => c with { Configs = [new ConfigReference("c1", "a", new FileTarget("a")), new ConfigReference("c2", "b", new FileTarget("/a"))] }), "Spec.TaskTemplate.ContainerSpec.Configs[1].File.Name", "duplicate config target for /a not allowed" },
            { "config target with ..", WithContainer(ok, c => c with { Configs = [new ConfigReference("c1", "site", new FileTarget("/etc/../site.conf"))] }), "Spec.TaskTemplate.ContainerSpec.Configs[0].File.Name", "is not a file path" },
            { "config target twice", WithContainer(ok, c => c with { Configs = [new ConfigReference("c1", "a", new FileTarget("/a")), new ConfigReference("c2", "b", new FileTarget("/a"))] }), "Spec.TaskTemplate.ContainerSpec.Configs[1].File.Name", "duplicate config target for /a not allowed" },
            { "negative config mode", WithContainer(ok, c => c with { Configs = [new ConfigReference("c1", "site", new FileTarget("/site", Mode: -1))] }), "Spec.TaskTemplate.ContainerSpec.Configs[0].File.Mode", "negative" },
            { "stop signal", WithContainer(ok, c => c with { StopSignal = "sig term" }), "Spec.TaskTemplate.ContainerSpec.StopSignal", "not a signal" },
            { "stop signal shaped as one but unknown", WithContainer(ok, c => c with { StopSignal = "SIGNOPE" }), "Spec.TaskTemplate.ContainerSpec.StopSignal", "'SIGNOPE' is not a signal" },
            { "stop signal number beyond 64", WithContainer(ok, c => c with { StopSignal = "65" }), "Spec.TaskTemplate.ContainerSpec.StopSignal", "not a signal" },
            { "stop signal number 0", WithContainer(ok, c => c with { StopSignal = "0" }), "Spec.TaskTemplate.ContainerSpec.StopSignal", "not a signal" },
            { "real-time stop signal beyond RTMIN+15", WithContainer(ok, c => c with { StopSignal = "SIGRTMIN+16" }), "Spec.TaskTemplate.ContainerSpec.StopSignal", "not a signal" },
            { "negative grace period", WithContainer(ok, c => c with { StopGracePeriod = TimeSpan.FromSeconds(-1) }), "Spec.TaskTemplate.ContainerSpec.StopGracePeriod", "negative" },
            { "cpu limit below reservation", WithResources(ok, new ResourceAmounts(500_000_000, 0), new ResourceAmounts(1_000_000_000, 0)), "Spec.TaskTemplate.Resources.Limits.NanoCPUs", "below the reservation" },
            { "memory limit below reservation", WithResources(ok, new ResourceAmounts(0, 64 * MiB), new ResourceAmounts(0, 128 * MiB)), "Spec.TaskTemplate.Resources.Limits.MemoryBytes", "below the reservation" },
            { "memory limit under 4 MiB", WithResources(ok, new ResourceAmounts(0, MiB), ResourceAmounts.None), "Spec.TaskTemplate.Resources.Limits.MemoryBytes", "less than 4 MiB" },
            { "negative cpu reservation", WithResources(ok, ResourceAmounts.None, new ResourceAmounts(-1, 0)), "Spec.TaskTemplate.Resources.Reservations.NanoCPUs", "negative" },
            { "tiny cpu limit", WithResources(ok, new ResourceAmounts(999, 0), ResourceAmounts.None), "Spec.TaskTemplate.Resources.Limits.NanoCPUs", "less than 0.001 CPU" },
            { "negative restart delay", ok.With(t => t with { Restart = t.Restart with { Delay = TimeSpan.FromSeconds(-5) } }), "Spec.TaskTemplate.RestartPolicy.Delay", "negative" },
            { "negative restart attempts", ok.With(t => t with { Restart = t.Restart with { MaxAttempts = -1 } }), "Spec.TaskTemplate.RestartPolicy.MaxAttempts", "negative" },
            { "negative restart window", ok.With(t => t with { Restart = t.Restart with { Window = TimeSpan.FromSeconds(-1) } }), "Spec.TaskTemplate.RestartPolicy.Window", "negative" },
            { "unknown constraint operator", WithPlacement(ok, new Placement(["node.role=manager"])), "Spec.TaskTemplate.Placement.Constraints[0]", "expected one operator from ==, !=" },
            { "malformed constraint key", WithPlacement(ok, new Placement(["node.role==manager", "node labels==a"])), "Spec.TaskTemplate.Placement.Constraints[1]", "key 'node labels' is invalid" },
            { "constraint on a key no node has", WithPlacement(ok, new Placement(["node.zone==a"])), "Spec.TaskTemplate.Placement.Constraints[0]", "no node has 'node.zone'" },
            { "constraint on an engine label with no name", WithPlacement(ok, new Placement(["engine.labels.==ssd"])), "Spec.TaskTemplate.Placement.Constraints[0]", "no node has 'engine.labels.'" },
            { "spread over an engine label with no name", WithPlacement(ok, new Placement(Preferences: [new PlacementPreference("engine.labels.")])), "Spec.TaskTemplate.Placement.Preferences[0].Spread.SpreadDescriptor", "cannot spread" },
            { "node.ip that is no address", WithPlacement(ok, new Placement(["node.ip==10.0.0"])), "Spec.TaskTemplate.Placement.Constraints[0]", "neither an IP address nor a subnet" },
            { "spread over something else", WithPlacement(ok, new Placement(Preferences: [new PlacementPreference("node.hostname")])), "Spec.TaskTemplate.Placement.Preferences[0].Spread.SpreadDescriptor", "cannot spread" },
            { "negative max replicas", WithPlacement(ok, new Placement(MaxReplicasPerNode: -1)), "Spec.TaskTemplate.Placement.MaxReplicas", "negative" },
            { "max replicas with global mode", WithPlacement(ok with { Mode = ServiceMode.GlobalMode }, new Placement(MaxReplicasPerNode: 2)), "Spec.TaskTemplate.Placement.MaxReplicas", "replicated services only" },
            { "unnamed network", ok.With(t => t with { Networks = [new NetworkAttachment(" ")] }), "Spec.TaskTemplate.Networks[0].Target", "not named" },
            { "network twice", ok.With(t => t with { Networks = [new NetworkAttachment("front"), new NetworkAttachment("front")] }), "Spec.TaskTemplate.Networks[1].Target", "twice" },
            { "target port 0", WithPorts(ok, new PortConfig(0, 80)), "Spec.EndpointSpec.Ports[0].TargetPort", "not a port number" },
            { "target port too high", WithPorts(ok, new PortConfig(65536, 80)), "Spec.EndpointSpec.Ports[0].TargetPort", "not a port number" },
            { "published port negative", WithPorts(ok, new PortConfig(80, -1)), "Spec.EndpointSpec.Ports[0].PublishedPort", "not a port number" },
            { "published port too high", WithPorts(ok, new PortConfig(80, 70000)), "Spec.EndpointSpec.Ports[0].PublishedPort", "not a port number" },
            { "duplicate published port", WithPorts(ok, new PortConfig(80, 8080), new PortConfig(81, 8080)), "Spec.EndpointSpec.Ports[1].PublishedPort", "8080/tcp is already published by Ports[0]" },
            { "duplicate host port", WithPorts(ok, new PortConfig(80, 8080, PortProtocol.Udp, PublishMode.Host), new PortConfig(81, 8080, PortProtocol.Udp, PublishMode.Host)), "Spec.EndpointSpec.Ports[1].PublishedPort", "8080/udp" },
            { "ingress port with dnsrr", ok with { Endpoint = new EndpointSpec(EndpointMode.Dnsrr, [new PortConfig(80, 8080)]) }, "Spec.EndpointSpec.Ports[0].PublishMode", "dnsrr" },
            { "node-wide sysctl", WithContainer(ok, c => c with { Sysctls = NamespacedSysctls.None.Add("kernel.domainname", "x") }), "Spec.TaskTemplate.ContainerSpec.Sysctls[kernel.domainname]", "not a namespaced sysctl" },
            { "vm sysctl", WithContainer(ok, c => c with { Sysctls = NamespacedSysctls.None.Add("vm.swappiness", "10") }), "Spec.TaskTemplate.ContainerSpec.Sysctls[vm.swappiness]", "shared by the whole node" },
            { "kernel sysctl near an allowed one", WithContainer(ok, c => c with { Sysctls = NamespacedSysctls.None.Add("kernel.shm_next_id", "1") }), "Spec.TaskTemplate.ContainerSpec.Sysctls[kernel.shm_next_id]", "not a namespaced sysctl" },
            { "sysctl path that climbs out", WithContainer(ok, c => c with { Sysctls = NamespacedSysctls.None.Add("net/../kernel/hostname", "x") }), "Spec.TaskTemplate.ContainerSpec.Sysctls[net/../kernel/hostname]", "not a sysctl name" },
            { "sysctl without a value", WithContainer(ok, c => c with { Sysctls = NamespacedSysctls.None.Add("net.core.somaxconn", " ") }), "Spec.TaskTemplate.ContainerSpec.Sysctls[net.core.somaxconn]", "not a value" },
            { "negative parallelism", ok with { Update = UpdateConfig.Default with { Parallelism = -1 } }, "Spec.UpdateConfig.Parallelism", "negative" },
            { "negative update delay", ok with { Update = UpdateConfig.Default with { Delay = TimeSpan.FromSeconds(-1) } }, "Spec.UpdateConfig.Delay", "negative" },
            { "negative monitor", ok with { Rollback = UpdateConfig.Default with { Monitor = TimeSpan.FromSeconds(-1) } }, "Spec.RollbackConfig.Monitor", "negative" },
            { "failure ratio above 1", ok with { Update = UpdateConfig.Default with { MaxFailureRatio = 1.5 } }, "Spec.UpdateConfig.MaxFailureRatio", "not a ratio" },
            { "failure ratio NaN", ok with { Update = UpdateConfig.Default with { MaxFailureRatio = double.NaN } }, "Spec.UpdateConfig.MaxFailureRatio", "not a ratio" },
            { "rollback that rolls back", ok with { Rollback = UpdateConfig.Default with { FailureAction = FailureAction.Rollback } }, "Spec.RollbackConfig.FailureAction", "cannot itself roll back" },
            { "unknown order", ok with { Update = UpdateConfig.Default with { Order = (UpdateOrder)7 } }, "Spec.UpdateConfig.Order", "not an update order" },
        };
    }

    [Theory]
    [MemberData(nameof(BadSpecs))]
    public void A_Bad_Spec_Is_Refused_Naming_The_Field_And_A_Fix(string mistake, ServiceSpec spec, string field, string problem)
    {
        var problems = ServiceSpecValidator.Validate(spec);

        var found = Assert.Single(problems);
        Assert.True(field == found.Field, $"{mistake}: reported on {found.Field}");
        Assert.Contains(problem, found.Problem, StringComparison.Ordinal);
        Assert.False(string.IsNullOrWhiteSpace(found.Fix), $"{mistake}: no fix");
    }

    public static TheoryData<string, ServiceSpec> GoodSpecs()
    {
        var ok = Spec();
        return new TheoryData<string, ServiceSpec>
        {
            { "the simplest", ok },
            { "a stack's service name (STACK_NAME), as swarmkit takes it", ok with { Name = "vote_result-2" } },
            { "zero replicas", ok with { Mode = ServiceMode.ReplicatedMode(0) } },
            { "global", ok with { Mode = ServiceMode.GlobalMode } },
            { "replicated job", Job(ServiceMode.ReplicatedJobMode(2, 10)) },
            { "global job", Job(ServiceMode.GlobalJobMode).With(t => t with { Restart = RestartPolicy.JobDefault with { Condition = RestartCondition.None } }) },
            { "limits equal to reservations", WithResources(ok, new ResourceAmounts(1_000_000_000, 64 * MiB), new ResourceAmounts(1_000_000_000, 64 * MiB)) },
            { "reservation without a limit", WithResources(ok, ResourceAmounts.None, new ResourceAmounts(1_000_000_000, 64 * MiB)) },
            { "every kind of constraint", WithPlacement(ok, new Placement(["node.id!=x", "node.hostname==a", "node.role==manager", "node.platform.os==linux", "node.platform.arch!=arm64", "node.labels.zone==a", "NODE.ROLE!=worker", "node.ip==10.0.0.5", "node.ip!=fd00::/8"], [new PlacementPreference("node.labels.zone")], 2)) },
            { "engine labels, as dockerd's --label: constraints and spread", WithPlacement(ok, new Placement(["engine.labels.disk==ssd", "Engine.Labels.zone!=b"], [new PlacementPreference("engine.labels.zone"), new PlacementPreference("node.labels.rack")])) },
            { "ports: same number, two protocols; two ports picked by the swarm", WithPorts(ok, new PortConfig(53, 53), new PortConfig(53, 53, PortProtocol.Udp), new PortConfig(80), new PortConfig(81)) },
            { "dnsrr with host ports", ok with { Endpoint = new EndpointSpec(EndpointMode.Dnsrr, [new PortConfig(80, 8080, PublishMode: PublishMode.Host)]) } },
            { "a full container", WithContainer(ok, c => c with
                {
                    Command = ["nginx"], Args = ["-g", "daemon off;"], Env = ["A=1", "B="], Dir = "/srv", User = "www",
                    Mounts = [new MountSpec(MountType.Bind, "/srv", "/srv", ReadOnly: true), new MountSpec(MountType.Volume, "", "/cache"), new MountSpec(MountType.Tmpfs, "", "/tmp")],
                    HealthCheck = new HealthCheck(["CMD", "curl", "-f", "localhost"], TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(2), 3, TimeSpan.FromSeconds(10)),
                    StopSignal = "SIGQUIT", StopGracePeriod = TimeSpan.FromSeconds(30),
                }) },
            { "one secret at two targets, configs anywhere but the root", WithContainer(ok, c => c with
                {
                    Secrets = [new SecretReference("s1", "db", new FileTarget("db")), new SecretReference("s1", "db", new FileTarget("db.copy", "1000", "1000", 0x100)), new SecretReference("s1", "db", new FileTarget("/etc/ssl/db.pem"))],
                    Configs = [new ConfigReference("c1", "site", new FileTarget("/site")), new ConfigReference("c1", "site", new FileTarget("/etc/nginx/conf.d/site.conf", Mode: 0x1FF))],
                }) },
            { "relative targets: a secret's under /run/secrets, a config's under /, as docker's daemon places them", WithContainer(ok, c => c with
                {
                    Secrets = [new SecretReference("s1", "db", new FileTarget("sub/db"))],
                    Configs = [new ConfigReference("c1", "site", new FileTarget("site")), new ConfigReference("c1", "site", new FileTarget("nginx/site.conf"))],
                }) },
            { "a stop signal in lower case, as docker takes it", WithContainer(ok, c => c with { StopSignal = "sigquit" }) },
            { "a real-time stop signal, as systemd's images use", WithContainer(ok, c => c with { StopSignal = "SIGRTMIN+3" }) },
            { "a stop signal by number", WithContainer(ok, c => c with { StopSignal = "10" }) },
            { "a hostname with an underscore, as docker's daemon takes it", WithContainer(ok, c => c with { Hostname = "stack_web-1" }) },
            { "init and namespaced sysctls", WithContainer(ok, c => c with
                {
                    Init = true,
                    Sysctls = NamespacedSysctls.None.Add("net.core.somaxconn", "1024").Add("net.ipv4.ip_unprivileged_port_start", "0").Add("kernel.shmmax", "68719476736")
                        .Add("kernel.shm_rmid_forced", "1").Add("fs.mqueue.msg_max", "20").Add("net/ipv4/conf/eth0.100/forwarding", "1"),
                }) },
            { "docker's templates in the hostname, environment and a volume's name", WithContainer(ok, c => c with
                {
                    Hostname = "{{.Node.Hostname}}-{{.Service.Name}}-{{.Task.Slot}}", Env = ["NODE={{.Node.ID}}", "TIER={{index .Service.Labels \"tier\"}}"],
                    Mounts = [new MountSpec(MountType.Volume, "data-{{.Task.Slot}}", "/data")],
                }) },
            { "docker 25's read-only recursions of read-only binds", WithContainer(ok, c => c with
                {
                    Mounts =
                    [
                        new MountSpec(MountType.Bind, "/a", "/a", ReadOnly: true) { BindReadOnlyNonRecursive = true },
                        new MountSpec(MountType.Bind, "/b", "/b", ReadOnly: true) { BindReadOnlyForceRecursive = true },
                        new MountSpec(MountType.Bind, "/c", "/c", ReadOnly: true) { BindReadOnlyForceRecursive = true, BindPropagation = MountPropagation.RPrivate },
                    ],
                }) },
            { "start-first update with automatic rollback", ok with { Update = UpdateConfig.Default with { Parallelism = 0, Order = UpdateOrder.StartFirst, FailureAction = FailureAction.Rollback, MaxFailureRatio = 1 } } },
        };
    }

    [Theory]
    [MemberData(nameof(GoodSpecs))]
    public void A_Good_Spec_Has_No_Problem(string what, ServiceSpec spec)
    {
        var problems = ServiceSpecValidator.Validate(spec);

        Assert.True(problems.IsEmpty, $"{what}: {string.Join(" | ", problems)}");
    }

    [Fact]
    public void Every_Problem_Is_Reported_At_Once()
    {
        var spec = WithPorts(Spec(image: "", replicas: -2), new PortConfig(0, 80)) with { Update = UpdateConfig.Default with { MaxFailureRatio = -1 } };

        var fields = ServiceSpecValidator.Validate(spec).Select(p => p.Field);

        Assert.Equal(["Spec.Mode.Replicated.Replicas", "Spec.TaskTemplate.ContainerSpec.Image", "Spec.EndpointSpec.Ports[0].TargetPort", "Spec.UpdateConfig.MaxFailureRatio"], fields);
    }

    public static TheoryData<string, ImmutableArray<NetworkAttachment>, PortConfig[]> BridgeUses() => new()
    {
        { "bridge alone", [new NetworkAttachment("bridge")], [] },
        { "bridge with host-mode ports, fixed and picked by the node", [new NetworkAttachment("bridge")],
            [new PortConfig(80, 8080, PublishMode: PublishMode.Host), new PortConfig(53, 0, PortProtocol.Udp, PublishMode.Host)] },
        { "bridge with a port of the routing mesh", [new NetworkAttachment("bridge")], [new PortConfig(80, 8080)] },
        { "bridge beside an overlay, either side", [new NetworkAttachment("front"), new NetworkAttachment("bridge")], [] },
        { "bridge first, an overlay with an alias", [new NetworkAttachment("bridge"), new NetworkAttachment("front", ["web"])], [] },
    };

    [Theory]
    [MemberData(nameof(BridgeUses))]
    public void The_Bridge_Network_Is_Taken_By_Name_Beside_Overlays_And_Ports_As_Docker_Takes_It(string what, ImmutableArray<NetworkAttachment> networks, PortConfig[] ports)
    {
        var spec = WithPorts(Spec().With(t => t with { Networks = networks }), ports);
        var known = new HashSet<string>(["front"], StringComparer.Ordinal);

        Assert.True(ServiceSpecValidator.Validate(spec, known).IsEmpty, $"{what}: {string.Join(" | ", ServiceSpecValidator.Validate(spec, known))}");
        Assert.Null(ServiceCommands.Create(spec, [], known, "svc1", DateTimeOffset.UnixEpoch).Rejected);
        Assert.Null(PredefinedNetworks.ModeOf(spec.TaskTemplate.Networks)); // not a network mode: it goes with other networks
        Assert.True(PredefinedNetworks.OnBridge(spec.TaskTemplate.Networks));
        Assert.DoesNotContain(PredefinedNetworks.Networks(spec.TaskTemplate.Networks), n => n.Target == "bridge"); // nothing allocated on it
    }

    public static TheoryData<string, ImmutableArray<NetworkAttachment>, string, string, string> BridgeMisuse() => new()
    {
        { "an alias on bridge", [new NetworkAttachment("bridge", ["web"])],
            "Spec.TaskTemplate.Networks[0].Target", "network-scoped alias is supported only for containers in user defined networks", "attach bridge without alias=" },
        { "an address on bridge", [new NetworkAttachment("front"), new NetworkAttachment("bridge", [], ["172.18.0.9"])],
            "Spec.TaskTemplate.Networks[1].Target", "user specified IP address is supported on user defined networks only", "attach bridge without alias= or ip=" },
        { "bridge twice", [new NetworkAttachment("bridge"), new NetworkAttachment("bridge")],
            "Spec.TaskTemplate.Networks[1].Target", "network bridge is attached twice", "attach each network once" },
        { "bridge beside host", [new NetworkAttachment("bridge"), new NetworkAttachment("host")],
            "Spec.TaskTemplate.Networks[1].Target", "cannot be connected to any other network", "attach host alone" },
        { "bridge beside none", [new NetworkAttachment("none"), new NetworkAttachment("bridge")],
            "Spec.TaskTemplate.Networks[0].Target", "one of the networks in private (none) mode", "attach none alone" },
    };

    [Theory]
    [MemberData(nameof(BridgeMisuse))]
    public void What_Docker_Refuses_On_The_Bridge_Network_Is_Refused_With_The_Field_And_What_To_Do(string what, ImmutableArray<NetworkAttachment> networks, string field, string problem, string fix)
    {
        var spec = Spec().With(t => t with { Networks = networks });

        var found = Assert.Single(ServiceSpecValidator.Validate(spec, new HashSet<string>(["front"], StringComparer.Ordinal)));

        Assert.True(field == found.Field, $"{what}: {found}");
        Assert.Contains(problem, found.Problem, StringComparison.Ordinal);
        Assert.Contains(fix, found.Fix, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("host")]
    [InlineData("none")]
    public void The_Host_And_None_Network_Modes_Are_Taken_Alone_Without_A_Network_Of_That_Name(string mode)
    {
        var spec = Spec().With(t => t with { Networks = [new NetworkAttachment(mode)] });

        Assert.Empty(ServiceSpecValidator.Validate(spec, new HashSet<string>(["front"], StringComparer.Ordinal)));
        Assert.Null(ServiceCommands.Create(spec, [], new HashSet<string>(["front"], StringComparer.Ordinal), "svc1", DateTimeOffset.UnixEpoch).Rejected);
        Assert.Equal(mode, PredefinedNetworks.ModeOf(spec.TaskTemplate.Networks));
        Assert.Empty(PredefinedNetworks.Networks(spec.TaskTemplate.Networks));
    }

    public static TheoryData<string, ServiceSpec, string, string, string> NetworkModeMisuse()
    {
        var host = Spec().With(t => t with { Networks = [new NetworkAttachment("host")] });
        var none = Spec().With(t => t with { Networks = [new NetworkAttachment("none")] });
        return new()
        {
            { "host beside an overlay", host.With(t => t with { Networks = [new NetworkAttachment("host"), new NetworkAttachment("front")] }),
                "Spec.TaskTemplate.Networks[0].Target", "cannot be connected to any other network", "attach host alone" },
            { "none beside an overlay", none.With(t => t with { Networks = [new NetworkAttachment("front"), new NetworkAttachment("none")] }),
                "Spec.TaskTemplate.Networks[1].Target", "one of the networks in private (none) mode", "attach none alone" },
            { "host twice", host.With(t => t with { Networks = [new NetworkAttachment("host"), new NetworkAttachment("host")] }),
                "Spec.TaskTemplate.Networks[1].Target", "network host is attached twice", "attach each network once" },
            { "host with an ingress port", WithPorts(host, new PortConfig(80, 8080)),
                "Spec.EndpointSpec.Ports[0].PublishMode", "a task on the host network can join no other network", "published=80,target=80,mode=host" },
            { "host with a host port of another number", WithPorts(host, new PortConfig(80, 8080, PublishMode: PublishMode.Host)),
                "Spec.EndpointSpec.Ports[0].PublishedPort", "its port 80 cannot be published as 8080", "published=80,target=80,mode=host" },
            { "host with a host port the node picks", WithPorts(host, new PortConfig(80, 0, PublishMode: PublishMode.Host)),
                "Spec.EndpointSpec.Ports[0].PublishedPort", "cannot be published as a port the node picks", "published=80,target=80,mode=host" },
            { "none with a host port", WithPorts(none, new PortConfig(80, 80, PublishMode: PublishMode.Host)),
                "Spec.EndpointSpec.Ports[0]", "a task on none has loopback alone", "leave --publish out" },
            { "host with a net sysctl", WithContainer(host, c => c with { Sysctls = ImmutableSortedDictionary<string, string>.Empty.Add("net.core.somaxconn", "1024") }),
                "Spec.TaskTemplate.ContainerSpec.Sysctls[net.core.somaxconn]", "not allowed in the host's network namespace", "leave --sysctl net.core.somaxconn out" },
        };
    }

    [Theory]
    [MemberData(nameof(NetworkModeMisuse))]
    public void What_The_Host_And_None_Network_Modes_Rule_Out_Is_Refused_With_What_To_Do(string what, ServiceSpec spec, string field, string problem, string fix)
    {
        var found = Assert.Single(ServiceSpecValidator.Validate(spec, new HashSet<string>(["front"], StringComparer.Ordinal)));

        Assert.True(field == found.Field, $"{what}: {found}");
        Assert.Contains(problem, found.Problem, StringComparison.Ordinal);
        Assert.Contains(fix, found.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public void A_Task_On_The_Host_Network_Keeps_A_Host_Port_That_Is_The_Port_It_Listens_On()
    {
        var spec = WithPorts(Spec().With(t => t with { Networks = [new NetworkAttachment("host")] }), new PortConfig(80, 80, PublishMode: PublishMode.Host))
            .With(t => t with { Container = t.Container with { Sysctls = ImmutableSortedDictionary<string, string>.Empty.Add("kernel.shmmax", "1024") } });

        Assert.Empty(ServiceSpecValidator.Validate(spec));
    }

    [Fact]
    public void An_Unknown_Network_Is_Refused_When_The_Networks_Are_Known()
    {
        var spec = Spec().With(t => t with { Networks = [new NetworkAttachment("front"), new NetworkAttachment("back")] });

        var problem = Assert.Single(ServiceSpecValidator.Validate(spec, new HashSet<string>(["front"], StringComparer.Ordinal)));

        Assert.Equal("Spec.TaskTemplate.Networks[1].Target", problem.Field);
        Assert.Equal("network back does not exist", problem.Problem);
        Assert.Contains("network create", problem.Fix, StringComparison.Ordinal);
        Assert.Empty(ServiceSpecValidator.Validate(spec));
    }

    [Fact]
    public void A_Problem_Reads_As_Field_Problem_And_Fix()
    {
        var problem = Assert.Single(ServiceSpecValidator.Validate(Spec(replicas: -1)));

        Assert.Equal("Spec.Mode.Replicated.Replicas: -1 replicas is negative; set --replicas to 0 or more", problem.ToString());
    }

    [Fact]
    public void Defaults_Are_Swarms()
    {
        var spec = Spec();

        Assert.Equal(new UpdateConfig(1, TimeSpan.Zero, FailureAction.Pause, TimeSpan.FromSeconds(5), 0, UpdateOrder.StopFirst), spec.Update);
        Assert.Equal(spec.Update, spec.Rollback);
        Assert.Equal(new RestartPolicy(RestartCondition.Any, TimeSpan.FromSeconds(5), 0, TimeSpan.Zero), spec.TaskTemplate.Restart);
        Assert.Equal(EndpointMode.Vip, spec.Endpoint.Mode);
        Assert.Empty(spec.Endpoint.Ports);
        Assert.Equal(ResourceRequirements.None, spec.TaskTemplate.Resources);
        Assert.Equal(0, spec.TaskTemplate.Placement.MaxReplicasPerNode);
        Assert.Equal(new ServiceMode(ServiceModeKind.ReplicatedJob, 0, 1, 1), ServiceMode.ReplicatedJobMode());
        Assert.Equal(PortProtocol.Tcp, new PortConfig(80).Protocol);
        Assert.Equal(PublishMode.Ingress, new PortConfig(80).PublishMode);
        Assert.Empty(Container(spec).Env);
    }
}
