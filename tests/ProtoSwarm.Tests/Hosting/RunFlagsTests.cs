using ProtoSwarm.Client.Control;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Tests.Hosting;

/// <summary>docker run's --restart, -v and -p as the CLI and the node host read them, and the restart policy's decision.</summary>
public sealed class RunFlagsTests
{
    [Theory]
    [InlineData("", "no", 0)]
    [InlineData("no", "no", 0)]
    [InlineData("always", "always", 0)]
    [InlineData("unless-stopped", "unless-stopped", 0)]
    [InlineData("on-failure", "on-failure", 0)]
    [InlineData("on-failure:3", "on-failure", 3)]
    public void A_Restart_Policy_Is_Read_As_Docker_Reads_It(string text, string name, int count)
    {
        var (policy, error) = ContainerRestartPolicy.Parse(text);

        Assert.Null(error);
        Assert.Equal((name, count), (policy!.Name, policy.MaximumRetryCount));
    }

    [Theory]
    [InlineData(":1", "invalid restart policy format: no policy provided before colon")]
    [InlineData("on-failure:x", "invalid restart policy format: maximum retry count must be an integer")]
    [InlineData("always:2:3", "invalid restart policy format: maximum retry count must be an integer")]
    [InlineData("sometimes", "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'")]
    [InlineData("always:3", "invalid restart policy: maximum retry count can only be used with 'on-failure'")]
    [InlineData("on-failure:-1", "invalid restart policy: maximum retry count cannot be negative")]
    public void A_Bad_Restart_Policy_Gets_Dockers_Error(string text, string error)
    {
        Assert.Equal((null, error), ContainerRestartPolicy.Parse(text));
    }

    [Theory]
    // policy, exit code, stopped by `stop`, restarts made so far, restarts?
    [InlineData("no", 1, false, 0, false)]
    [InlineData("always", 0, false, 5, true)]
    [InlineData("always", 0, true, 0, true)]
    [InlineData("unless-stopped", 0, false, 0, true)]
    [InlineData("unless-stopped", 1, true, 0, false)]
    [InlineData("on-failure", 0, false, 0, false)]
    [InlineData("on-failure", 1, false, 100, true)]
    [InlineData("on-failure:2", 1, false, 1, true)]
    [InlineData("on-failure:2", 1, false, 2, false)]
    public void The_Policy_Decides_As_Mobys_Restart_Manager(string text, int exitCode, bool stopped, int restarts, bool restart)
    {
        var policy = ContainerRestartPolicy.Parse(text).Policy!;

        var decision = policy.Decide(exitCode, stopped, TimeSpan.FromSeconds(1), new RestartState(restarts, TimeSpan.Zero));

        Assert.Equal(restart, decision.Restart);
        Assert.Equal(restart ? restarts + 1 : restarts, decision.Next.Restarts);
    }

    [Fact]
    public void The_Wait_Doubles_From_100_Ms_Up_To_A_Minute_And_Starts_Over_After_A_Run_Of_10_Seconds()
    {
        var policy = ContainerRestartPolicy.Parse("always").Policy!;
        var state = RestartState.Initial;
        var waits = new List<TimeSpan>();
        for (var i = 0; i < 12; i++)
        {
            var decision = policy.Decide(1, false, TimeSpan.FromSeconds(1), state);
            waits.Add(decision.Delay);
            state = decision.Next;
        }

        Assert.Equal([100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000], waits.Select(w => (int)w.TotalMilliseconds));
        Assert.Equal(TimeSpan.FromMilliseconds(100), policy.Decide(1, false, TimeSpan.FromSeconds(10), state).Delay);
        Assert.Equal(12, state.Restarts);
    }

    [Theory]
    [InlineData("/data", MountType.Volume, "", "/data", false)]
    [InlineData("cache:/var/cache", MountType.Volume, "cache", "/var/cache", false)]
    [InlineData("cache:/var/cache:ro", MountType.Volume, "cache", "/var/cache", true)]
    [InlineData("/srv/site:/usr/share/html:ro", MountType.Bind, "/srv/site", "/usr/share/html", true)]
    [InlineData("/srv/site:/site:rw,z", MountType.Bind, "/srv/site", "/site", false)]
    [InlineData("/data:ro", MountType.Volume, "", "/data", true)]
    public void A_Volume_Flag_Is_A_Bind_A_Named_Or_An_Anonymous_Volume(string text, MountType type, string source, string target, bool readOnly)
    {
        var (mount, error) = VolumeFlag.Parse(text);

        Assert.Null(error);
        Assert.Equal((type, source, target, readOnly), (mount!.Type, mount.Source, mount.Target, mount.ReadOnly));
    }

    [Fact]
    public void A_Volume_Flag_Takes_Nocopy_For_A_Volume_And_A_Propagation_For_A_Bind()
    {
        Assert.True(VolumeFlag.Parse("v1:/d:nocopy").Mount!.VolumeNoCopy);
        Assert.Equal(MountPropagation.RShared, VolumeFlag.Parse("/h:/d:ro,rshared").Mount!.BindPropagation);
    }

    [Theory]
    [InlineData("./site:/site:ro", "/home/me/site:/site:ro")]
    [InlineData(".:/src", "/home/me:/src")]
    [InlineData("site:/site", "site:/site")]
    [InlineData("../site:/site", "../site:/site")]
    [InlineData("/data", "/data")]
    public void A_Source_Of_Dot_Or_Dot_Slash_Is_Made_Absolute_As_Dockers_Cli_Makes_It(string text, string sent)
    {
        Assert.Equal(sent, VolumeFlag.WithAbsoluteSource(text, p => Path.GetFullPath(p, "/home/me")));
    }

    [Theory]
    [InlineData("data", "the path in the container, 'data', must be absolute")]
    [InlineData("a:b:c:d", "invalid volume specification: 'a:b:c:d'")]
    [InlineData("a::/b", "empty section between colons")]
    [InlineData("my vol:/data", "includes invalid characters for a local volume name")]
    [InlineData("/h:/d:nocopy", "invalid mode: nocopy")]
    [InlineData("vol:/d:rshared", "invalid mode: rshared")]
    public void A_Bad_Volume_Flag_Says_What_Is_Wrong(string text, string error)
    {
        var (mount, message) = VolumeFlag.Parse(text);

        Assert.Null(mount);
        Assert.Contains(error, message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("8080:80", 80, 8080, PortProtocol.Tcp)]
    [InlineData("0.0.0.0:8080:80/tcp", 80, 8080, PortProtocol.Tcp)]
    [InlineData("53:53/udp", 53, 53, PortProtocol.Udp)]
    [InlineData("80", 80, 0, PortProtocol.Tcp)]
    [InlineData("0.0.0.0::80", 80, 0, PortProtocol.Tcp)]
    public void A_Publish_Flag_Is_A_Host_Mode_Port(string text, int target, int published, PortProtocol protocol)
    {
        var (port, error) = PublishFlag.Parse(text);

        Assert.Null(error);
        Assert.Equal(new PortConfig(target, published, protocol, PublishMode.Host), port);
    }

    [Theory]
    [InlineData("8080:http", "Invalid containerPort: http")]
    [InlineData("99999:80", "Invalid hostPort: 99999")]
    [InlineData("8080:80/sctp", "invalid proto: sctp")]
    [InlineData("8080:", "No port specified: 8080:<empty>")]
    [InlineData("nowhere:8080:80", "Invalid ip address: nowhere")]
    [InlineData("127.0.0.1:8080:80", "publishing on one address (127.0.0.1) is not available here")]
    [InlineData("8080-8081:80-81", "port ranges are not available here")]
    public void A_Bad_Publish_Flag_Gets_Dockers_Error(string text, string error)
    {
        var (port, message) = PublishFlag.Parse(text);

        Assert.Null(port);
        Assert.Contains(error, message, StringComparison.Ordinal);
    }
}
