using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.Hosting;
using ProtoSwarm.Networking.Security;

namespace ProtoSwarm.Tests.Networking;

/// <summary>
/// A node's hosts (protoswarmd's own, its Proto.Remote endpoint's, a manager's registry's) read appsettings.json without
/// watching it: a host's default watch is a watcher on every directory under the working directory, 10,703 inotify
/// watches per host for a lab node started in /tmp, woken by every file written there (docs/benchmarks.md, "Idle CPU of a swarm").
/// </summary>
public sealed class HostSettingsWatchTests
{
    [Fact]
    public void The_Node_Hosts_Read_Their_Settings_File_Without_Watching_The_Working_Directory()
    {
        using var byDefault = WebApplication.CreateSlimBuilder().Configuration;
        using var remote = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = SwarmRemoteHost.NoSettingsReload }).Configuration;
        using var node = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = SwarmRemoteHost.NoSettingsReload }).Configuration;

        Assert.Contains(JsonFiles(byDefault), s => s.ReloadOnChange);
        Assert.NotEmpty(JsonFiles(remote));
        Assert.All(JsonFiles(remote), s => Assert.False(s.ReloadOnChange, $"{s.Path} is watched"));
        Assert.NotEmpty(JsonFiles(node));
        Assert.All(JsonFiles(node), s => Assert.False(s.ReloadOnChange, $"{s.Path} is watched"));
    }

    private static List<JsonConfigurationSource> JsonFiles(ConfigurationManager configuration) => [.. configuration.Sources.OfType<JsonConfigurationSource>()];
}
