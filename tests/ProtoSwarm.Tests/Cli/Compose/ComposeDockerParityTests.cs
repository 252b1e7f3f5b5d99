using ProtoSwarm.Cli.Compose;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Tests.Cli.Compose;

/// <summary>
/// What the differential sweep against docker's own `stack config` found (docs/ARCHITECTURE.md,
/// "Compose files written by others"): each case a small file of ours that loads, or fails, as
/// docker's loader has it.
/// </summary>
public sealed class ComposeDockerParityTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("compose-parity-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private ComposeResult Load(string yaml, IReadOnlyDictionary<string, string>? environment = null)
    {
        var path = Path.Combine(_temp, "stack.yml");
        File.WriteAllText(path, yaml);
        return ComposeLoader.Load([path], "demo", environment ?? new Dictionary<string, string>());
    }

    private string[] Errors(ComposeResult result) =>
        [.. result.Errors.Select(e => e.ToString().Replace(Path.Combine(_temp, "stack.yml"), "stack.yml", StringComparison.Ordinal))];

    [Fact]
    public void A_Version_Written_As_A_Number_Is_Refused_As_Docker_Refuses_It()
    {
        var result = Load("version: 3.8\nservices:\n  web:\n    image: nginx\n");

        Assert.Equal(["stack.yml:1:10: version: version must be a string; quote it: version: \"3.8\""], Errors(result));
    }

    [Fact]
    public void Version_3_Alone_Is_Dockers_Latest_So_Later_Keys_Pass()
    {
        var result = Load("""
            version: "3"
            services:
              web:
                image: nginx
                init: true
                deploy:
                  resources:
                    limits:
                      pids: 50
            """);

        Assert.Empty(Errors(result));
        Assert.Equal("3.13", result.Version);
        Assert.Equal(50, result.Stack!.Service("web")!.Spec.TaskTemplate.Resources.Limits.Pids);
    }

    [Theory]
    [InlineData("3.14")]
    [InlineData("3.20")]
    public void A_Version_Later_Than_Dockers_Latest_Is_Refused(string version)
    {
        var result = Load($"version: \"{version}\"\nservices:\n  web:\n    image: nginx\n");

        Assert.Equal([$"stack.yml:1:10: version: version {version} is not a compose file version stack deploy knows; use a version from \"3.0\" to \"3.13\", or leave version out"], Errors(result));
    }

    [Fact]
    public void Long_Form_Ports_And_Volumes_Need_Version_3_2_And_A_Tmpfs_Option_3_6_One_Error_Each()
    {
        var result = Load("""
            version: "3.1"
            services:
              web:
                image: nginx
                ports:
                  - target: 80
                    published: 8080
                volumes:
                  - type: tmpfs
                    target: /cache
                    tmpfs:
                      size: 1024
            """);

        Assert.Equal(
            [
                "stack.yml:6:9: services.web.ports[0].target: \"target\" needs compose file version 3.2 or later, and this file says version 3.1; raise version: to \"3.2\"",
                "stack.yml:9:9: services.web.volumes[0].type: \"type\" needs compose file version 3.2 or later, and this file says version 3.1; raise version: to \"3.2\"",
                "stack.yml:11:9: services.web.volumes[0].tmpfs: \"tmpfs\" needs compose file version 3.6 or later, and this file says version 3.1; raise version: to \"3.6\"",
            ],
            Errors(result));
    }

    [Fact]
    public void Depends_On_Takes_Only_A_List_Of_Names_In_A_Version_3_File()
    {
        var result = Load("""
            services:
              web:
                image: nginx
                depends_on:
                  db:
                    condition: service_healthy
              db:
                image: postgres
            """);

        Assert.Equal(["stack.yml:5:7: services.web.depends_on: expected a list, got a mapping"], Errors(result));
        Assert.True(Load("services:\n  web:\n    image: nginx\n    depends_on: [db]\n  db:\n    image: postgres\n").IsValid);
    }

    [Fact]
    public void A_Long_Form_Tmpfs_Size_Is_A_Number_Of_Bytes()
    {
        var refused = Load("""
            services:
              web:
                image: nginx
                volumes:
                  - type: tmpfs
                    target: /cache
                    tmpfs:
                      size: 64m
            """);
        var taken = Load("services:\n  web:\n    image: nginx\n    volumes:\n      - type: tmpfs\n        target: /cache\n        tmpfs:\n          size: 1048576\n");

        Assert.Equal(["stack.yml:8:17: services.web.volumes[0].tmpfs.size: expected the size in bytes, a whole number, got \"64m\"; write 67108864 for 64m"], Errors(refused));
        Assert.Equal(1048576, taken.Stack!.Service("web")!.Spec.TaskTemplate.Container.Mounts.Single().TmpfsSizeBytes);
    }

    [Fact]
    public void Keys_Docker_Leaves_Open_In_A_Mounts_Options_Are_Ignored_With_A_Warning()
    {
        var result = Load("""
            services:
              web:
                image: nginx
                volumes:
                  - type: volume
                    source: data
                    target: /data
                    volume:
                      nocopy: true
                      subpath: site
            volumes:
              data: {}
            """);

        Assert.Empty(Errors(result));
        Assert.True(result.Stack!.Service("web")!.Spec.TaskTemplate.Container.Mounts.Single().VolumeNoCopy);
        Assert.Contains("Ignoring options ProtoSwarm does not support yet: services.web.volumes[0].volume.subpath", result.Warnings);
    }

    [Fact]
    public void Extra_Hosts_Take_Name_Equals_Address_And_Bracketed_IPv6_As_Docker_Does()
    {
        var list = Load("""
            services:
              web:
                image: nginx
                extra_hosts:
                  - "db=10.0.0.5"
                  - "cache:10.0.0.6"
                  - "v6:[fd00::7]"
                  - "plain6:fd00::8"
            """);
        var map = Load("services:\n  web:\n    image: nginx\n    extra_hosts:\n      db: \"[fd00::9]\"\n");

        Assert.Empty(Errors(list));
        Assert.Equal(["10.0.0.5 db", "10.0.0.6 cache", "fd00::7 v6", "fd00::8 plain6"], list.Stack!.Service("web")!.Spec.TaskTemplate.Container.Hosts.ToArray());
        Assert.Equal(["fd00::9 db"], map.Stack!.Service("web")!.Spec.TaskTemplate.Container.Hosts.ToArray());
    }

    [Fact]
    public void A_Key_Yaml_Reads_As_A_Number_Is_Refused_With_Where_And_How_To_Quote_It()
    {
        var result = Load("services:\n  web:\n    image: nginx\n    environment:\n      8080: port\n");

        Assert.Equal(["stack.yml:5:7: services.web.environment.8080: the key 8080 reads as a number, and compose keys are strings; quote it: \"8080\":"], Errors(result));
        Assert.True(Load("services:\n  web:\n    image: nginx\n    environment:\n      \"8080\": port\n").IsValid);
    }

    [Fact]
    public void A_Tagged_Scalar_Is_Text_As_Dockers_Yaml_Reader_Takes_It()
    {
        var result = Load("services:\n  web:\n    image: nginx\n    environment:\n      MODE: !custom null\n");

        Assert.Equal(["MODE=null"], result.Stack!.Service("web")!.Spec.TaskTemplate.Container.Env.ToArray());
    }

    [Fact]
    public void Keys_Of_Docker_Schemas_Up_To_3_13_Are_Taken_With_A_Warning_When_Not_Supported_Yet()
    {
        var result = Load("""
            version: "3.13"
            services:
              web:
                image: nginx
                oom_score_adj: 100
                healthcheck:
                  test: ["CMD", "true"]
                  start_interval: 2s
                networks:
                  front:
                    driver_opts:
                      mtu: "1400"
            networks:
              front: {}
            """);

        Assert.Empty(Errors(result));
        Assert.Contains("Ignoring options ProtoSwarm does not support yet: services.web.healthcheck.start_interval", result.Warnings);
        Assert.Contains("Ignoring options ProtoSwarm does not support yet: networks.*.driver_opts, oom_score_adj", result.Warnings);
    }

    [Fact]
    public void A_Secret_From_A_Driver_Is_Refused_With_What_To_Write_Instead()
    {
        var result = Load("""
            services:
              web:
                image: nginx
                secrets: [token]
            secrets:
              token:
                driver: vault
            """);

        Assert.Equal(["stack.yml:7:13: secrets.token.driver: secret driver \"vault\" is not available; give the secret's content with file:, or write external: true for one the swarm has already"], Errors(result));
    }

    private ComposeResult LoadTwo(string first, string second)
    {
        var paths = new[] { Path.Combine(_temp, "base.yml"), Path.Combine(_temp, "over.yml") };
        File.WriteAllText(paths[0], first);
        File.WriteAllText(paths[1], second);
        return ComposeLoader.Load(paths, "demo", new Dictionary<string, string>());
    }

    [Fact]
    public void A_Later_Files_Port_Replaces_The_Earlier_Ones_With_The_Same_Published_Port_Whatever_The_Protocol()
    {
        // docker stack config -c base.yml -c over.yml: 8080->8000, 9090->90, 7070->7000/tcp (its merge keys ports by published port).
        var result = LoadTwo(
            "version: \"3.8\"\nservices:\n  web:\n    image: nginx\n    ports: [\"8080:80\", \"9090:90\", \"7070:70/udp\"]\n",
            "version: \"3.8\"\nservices:\n  web:\n    ports: [\"8080:8000\", \"7070:7000\"]\n");

        Assert.Empty(Errors(result));
        Assert.Equal([new PortConfig(8000, 8080), new PortConfig(90, 9090), new PortConfig(7000, 7070)], result.Stack!.Service("web")!.Spec.Endpoint.Ports.ToArray());
    }

    [Fact]
    public void A_Later_Files_Logging_With_Another_Driver_Replaces_The_Options_And_Network_Aliases_Are_Replaced()
    {
        // docker's mergeLoggingConfig and mergeServiceNetworkConfig, as its stack config prints them.
        var result = LoadTwo("""
            version: "3.8"
            services:
              web:
                image: nginx
                networks:
                  front:
                    aliases: [a, b]
                logging:
                  driver: json-file
                  options: {max-size: "1m", max-file: "2"}
            networks:
              front: {}
            """, """
            version: "3.8"
            services:
              web:
                networks:
                  front:
                    aliases: [c]
                logging:
                  driver: local
                  options: {max-size: "5m"}
            """);

        Assert.Empty(Errors(result));
        var spec = result.Stack!.Service("web")!.Spec;
        Assert.Equal("local", spec.TaskTemplate.LogDriver!.Name);
        Assert.Equal(["max-size"], spec.TaskTemplate.LogDriver.Options.Keys);
        Assert.Equal(["c", "web"], Assert.Single(spec.TaskTemplate.Networks).Aliases.ToArray());
    }

    [Fact]
    public void A_Later_Files_Logging_With_The_Same_Driver_Merges_The_Options()
    {
        var result = LoadTwo(
            "version: \"3.8\"\nservices:\n  web:\n    image: nginx\n    logging:\n      driver: json-file\n      options: {max-size: \"1m\", max-file: \"2\"}\n",
            "version: \"3.8\"\nservices:\n  web:\n    logging:\n      options: {max-size: \"5m\"}\n");

        Assert.Empty(Errors(result));
        var log = result.Stack!.Service("web")!.Spec.TaskTemplate.LogDriver!;
        Assert.Equal(("json-file", "2", "5m"), (log.Name, log.Options["max-file"], log.Options["max-size"]));
    }
}
