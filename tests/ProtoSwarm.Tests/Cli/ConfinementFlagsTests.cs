using System.Collections.Immutable;
using ProtoSwarm.Actors.Orchestration;
using ProtoSwarm.Cli.Commands;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Tests.Cli;

public class ConfinementFlagsTests
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

    private static ContainerSpec Created(params string[] pairs)
    {
        var spec = ServiceFlags.Create(Values(pairs), "busybox", [], () => "picked");
        Assert.Null(spec.Error);
        return spec.Value.TaskTemplate.Container;
    }

    [Fact]
    public void Create_Takes_Hostname_Read_Only_Capabilities_Ulimits_Hosts_Groups_And_Pids()
    {
        var spec = ServiceFlags.Create(
            Values("--hostname", "web-1", "--read-only", "true", "--cap-add", "net_admin", "--cap-add", "CAP_NET_ADMIN", "--cap-drop", "ALL",
                "--ulimit", "nofile=1024:2048", "--ulimit", "core=0", "--host", "db:10.0.0.5", "--group", "2000", "--limit-pids", "64"),
            "busybox", [], () => "x");
        Assert.Null(spec.Error);
        var container = spec.Value.TaskTemplate.Container;

        Assert.Equal("web-1", container.Hostname);
        Assert.True(container.ReadOnly);
        Assert.Equal<string>(["CAP_NET_ADMIN"], container.CapabilityAdd);
        Assert.Equal<string>(["ALL"], container.CapabilityDrop);
        Assert.Equal<Ulimit>([new Ulimit("nofile", 1024, 2048), new Ulimit("core", 0, 0)], container.Ulimits);
        Assert.Equal<string>(["10.0.0.5 db"], container.Hosts);
        Assert.Equal<string>(["2000"], container.Groups);
        Assert.Equal(64, spec.Value.TaskTemplate.Resources.Limits.Pids);
        Assert.Empty(ServiceSpecValidatorProblems(spec.Value));
    }

    [Fact]
    public void Update_Moves_A_Capability_Between_Added_And_Dropped_And_Edits_The_Lists()
    {
        var created = ServiceFlags.Create(Values("--cap-add", "SYS_TIME", "--ulimit", "nofile=10", "--host", "db:10.0.0.5", "--group", "7"), "busybox", [], () => "x").Value;

        var updated = ServiceFlags.Update(created, Values("--cap-drop", "SYS_TIME", "--ulimit-add", "nofile=20:30", "--ulimit-add", "nproc=5",
            "--host-add", "db:10.0.0.6", "--host-rm", "none", "--group-rm", "7", "--group-add", "8"));
        Assert.Null(updated.Error);
        var container = updated.Value.TaskTemplate.Container;

        Assert.Empty(container.CapabilityAdd);
        Assert.Equal<string>(["CAP_SYS_TIME"], container.CapabilityDrop);
        Assert.Equal<Ulimit>([new Ulimit("nofile", 20, 30), new Ulimit("nproc", 5, 5)], container.Ulimits);
        Assert.Equal<string>(["10.0.0.6 db"], container.Hosts);
        Assert.Equal<string>(["8"], container.Groups);

        var removed = ServiceFlags.Update(updated.Value, Values("--host-rm", "db", "--ulimit-rm", "nproc")).Value.TaskTemplate.Container;
        Assert.Empty(removed.Hosts);
        Assert.Equal<Ulimit>([new Ulimit("nofile", 20, 30)], removed.Ulimits);
    }

    [Theory]
    [InlineData("--cap-add", "NET-ADMIN", "is not a capability")]
    [InlineData("--ulimit", "files=10", "'files' is not a ulimit")]
    [InlineData("--ulimit", "nofile=20:10", "above the hard limit")]
    [InlineData("--ulimit", "nofile=many", "whole numbers")]
    [InlineData("--host", "db=10.0.0.5", "write it as name:IP")]
    [InlineData("--host", "db:not-an-ip", "write it as name:IP")]
    [InlineData("--group", "a:b", "is not a group")]
    [InlineData("--hostname", "web 1", "is not a hostname")]
    [InlineData("--hostname", "a1234567890123456789012345678901234567890123456789012345678901234", "is not a hostname")]
    [InlineData("--limit-pids", "-3", "--limit-pids")]
    [InlineData("--sysctl", "kernel.hostname=web", "is not a namespaced sysctl")]
    [InlineData("--sysctl", "net.core.somaxconn", "write it as key=value")]
    [InlineData("--sysctl-add", "net..x=1", "is not a sysctl name")]
    [InlineData("--sysctl-rm", "net.core.somaxconn=1", "a key alone")]
    public void Bad_Values_Are_Refused_Naming_The_Flag_And_The_Fix(string flag, string value, string expected)
    {
        var error = ServiceFlags.Check(flag, value);

        Assert.NotNull(error);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.StartsWith(flag, error, StringComparison.Ordinal);
    }

    /// <summary>
    /// As docker: moby dropped its RFC 1123 hostname check (it refused the '_' every stack service's name has) and
    /// checks only HOST_NAME_MAX, 64 bytes, which sethostname enforces; so a template giving the service's name deploys.
    /// </summary>
    [Fact]
    public void A_Hostname_With_An_Underscore_Or_Giving_A_Service_Name_Is_Taken_As_Docker_Takes_It()
    {
        Assert.Equal("web_1", Created("--hostname", "web_1").Hostname);
        var spec = ServiceFlags.Create(Values("--name", "stack_web", "--hostname", "{{.Service.Name}}-{{.Task.Slot}}"), "busybox", [], () => "x");
        Assert.Null(spec.Error);
        Assert.Empty(ServiceSpecValidator.Validate(spec.Value));
        Assert.Empty(ServiceSpecValidator.Validate(spec.Value with { TaskTemplate = spec.Value.TaskTemplate with { Container = spec.Value.TaskTemplate.Container with { Hostname = new string('h', 64) } } }));
        Assert.Single(ServiceSpecValidator.Validate(spec.Value with { TaskTemplate = spec.Value.TaskTemplate with { Container = spec.Value.TaskTemplate.Container with { Hostname = new string('h', 65) } } }));
    }

    [Fact]
    public void The_Swarm_Validator_Refuses_What_A_Client_Could_Send_Unchecked()
    {
        var spec = ServiceFlags.Create(Values(), "busybox", [], () => "x").Value;
        spec = spec with
        {
            TaskTemplate = spec.TaskTemplate with
            {
                Container = spec.TaskTemplate.Container with
                {
                    Hostname = "bad host",
                    CapabilityAdd = ["NET ADMIN"],
                    Ulimits = [new Ulimit("nofile", 5, 1), new Ulimit("open", 1, 1)],
                    Hosts = ["db"],
                    Groups = [""],
                },
                Resources = new ResourceRequirements(new ResourceAmounts(0, 0, -1), new ResourceAmounts(0, 0, 3)),
            },
        };

        var fields = ServiceSpecValidatorProblems(spec).Select(p => p.Field).ToList();

        Assert.Equal<string>(
            [
                "Spec.TaskTemplate.ContainerSpec.Hostname", "Spec.TaskTemplate.ContainerSpec.CapabilityAdd[0]",
                "Spec.TaskTemplate.ContainerSpec.Ulimits[0]", "Spec.TaskTemplate.ContainerSpec.Ulimits[1]",
                "Spec.TaskTemplate.ContainerSpec.Hosts[0]", "Spec.TaskTemplate.ContainerSpec.Groups[0]",
                "Spec.TaskTemplate.Resources.Limits.Pids", "Spec.TaskTemplate.Resources.Reservations.Pids",
            ],
            fields);
    }

    private static ImmutableArray<SpecProblem> ServiceSpecValidatorProblems(ServiceSpec spec) =>
        ServiceSpecValidator.Validate(spec);
}
