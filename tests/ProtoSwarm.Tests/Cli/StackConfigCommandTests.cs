using ProtoSwarm.Cli.Compose;
using static ProtoSwarm.Tests.Cli.CliHarness;

namespace ProtoSwarm.Tests.Cli;

public sealed class StackConfigCommandTests : IDisposable
{
    private const string Base = """
        version: "3.8"
        services:
          web:
            image: example/web:${STACK_CONFIG_TEST_TAG:-1.0}
            command: serve --port 80
            ports: ["8080:80"]
            environment:
              - MODE=prod
            volumes: ["data:/var/lib/web:ro"]
            healthcheck:
              test: curl -f http://localhost
              interval: 90s
            deploy:
              replicas: 2
              update_config: {delay: 90s, order: start-first}
              resources: {limits: {memory: 64M, cpus: "0.5"}}
          cache:
            image: redis:7
            secrets: [token]
        volumes:
          data: {}
        secrets:
          token:
            file: ./token.txt
        """;

    private const string Prod = """
        version: "3.8"
        services:
          web:
            environment:
              LEVEL: debug
            deploy:
              replicas: 3
        """;

    private readonly string _temp = Directory.CreateTempSubdirectory("stack-config-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private string File(string yaml, string name)
    {
        var path = Path.Combine(_temp, name);
        System.IO.File.WriteAllText(path, yaml);
        return path;
    }

    /// <summary>A node host that fails the test if anything is asked of it.</summary>
    private static FakeNode NoNode() => new(request => throw new InvalidOperationException($"stack config sent {request.GetType().Name}"));

    [Fact]
    public async Task Config_Prints_The_Merged_Interpolated_Files_In_Dockers_Shapes_And_Asks_No_Node()
    {
        File("secret", "token.txt");
        var node = NoNode();

        var (code, output, error) = await RunAsync(node, "stack", "config", "-c", File(Base, "base.yml"), "-c", File(Prod, "prod.yml"));

        Assert.Equal(0, code);
        Assert.Empty(node.Requests);
        Assert.Empty(error);
        // What docker 28's `stack config -c base.yml -c prod.yml` prints for the same two files, byte for byte.
        Assert.Equal(
            $$"""
            version: "3.8"
            services:
              cache:
                image: redis:7
                secrets:
                  - source: token
              web:
                command:
                  - serve
                  - --port
                  - "80"
                deploy:
                  replicas: 3
                  update_config:
                    delay: 1m30s
                    order: start-first
                  resources:
                    limits:
                      cpus: "0.5"
                      memory: "67108864"
                environment:
                  LEVEL: debug
                  MODE: prod
                healthcheck:
                  test:
                    - CMD-SHELL
                    - curl -f http://localhost
                  interval: 1m30s
                image: example/web:1.0
                ports:
                  - mode: ingress
                    target: 80
                    published: 8080
                    protocol: tcp
                volumes:
                  - type: volume
                    source: data
                    target: /var/lib/web
                    read_only: true
            volumes:
              data: {}
            secrets:
              token:
                file: {{_temp}}/token.txt

            """,
            output);
    }

    [Fact]
    public async Task Config_Of_An_Invalid_File_Prints_Each_Error_With_Its_Place_And_Exits_1()
    {
        var path = File("services:\n  web:\n    image: nginx\n    deploy:\n      replicas: many\n", "bad.yml");

        var (code, output, error) = await RunAsync(NoNode(), "stack", "config", "-c", path);

        Assert.Equal(1, code);
        Assert.Empty(output);
        Assert.Equal($"{path}:5:17: services.web.deploy.replicas: expected an integer, got \"many\"\n", error);
    }

    [Fact]
    public async Task Config_And_Deploy_Of_A_Directory_Say_It_Is_One_And_Send_Nothing()
    {
        var config = await RunAsync(NoNode(), "stack", "config", "-c", _temp);
        var deploy = await RunAsync(NoNode(), "stack", "deploy", "-c", _temp, "web");

        var expected = (1, "", $"{_temp}: is a directory, not a compose file; give the file itself, e.g. -c {_temp}/docker-compose.yml\n");
        Assert.Equal(expected, config);
        Assert.Equal(expected, deploy);
    }

    [Theory]
    [InlineData("version: \"3.8\"\nnetworks:\n  front: {}\n", "version: \"3.8\"\nservices: {}\nnetworks:\n  front: {}\n")]
    [InlineData("version: \"3.8\"\nservices: {}\n", "version: \"3.8\"\nservices: {}\n")]
    public async Task Config_Of_A_File_Without_Services_Prints_An_Empty_Services_As_Docker_Does(string yaml, string expected)
    {
        var path = File(yaml, "none.yml");

        var (code, output, error) = await RunAsync(NoNode(), "stack", "config", "-c", path);

        Assert.Equal((0, expected, ""), (code, output, error));
    }

    [Fact]
    public async Task Config_With_Skip_Interpolation_Prints_The_Variables_As_Written()
    {
        var path = File("services:\n  web:\n    image: nginx\n    environment:\n      GREETING: hello ${STACK_CONFIG_TEST_UNSET:-world}\n", "vars.yml");

        var (code, output, _) = await RunAsync(NoNode(), "stack", "config", "-c", path, "--skip-interpolation");
        var (_, interpolated, _) = await RunAsync(NoNode(), "stack", "config", "-c", path);

        Assert.Equal(0, code);
        Assert.Contains("      GREETING: hello ${STACK_CONFIG_TEST_UNSET:-world}\n", output, StringComparison.Ordinal);
        Assert.Contains("      GREETING: hello world\n", interpolated, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Config_With_Skip_Interpolation_Leaves_An_Image_With_A_Variable_Unchecked_As_Docker_Does()
    {
        var path = File("services:\n  web:\n    image: busybox:${TAG:-latest}\n    deploy:\n      placement:\n        constraints: [\"node.role==${ROLE}\"]\n", "image.yml");

        var (code, output, error) = await RunAsync(NoNode(), "stack", "config", "-c", path, "--skip-interpolation");
        var (badCode, _, badError) = await RunAsync(NoNode(), "stack", "config", "-c", File("services:\n  web:\n    image: busybox:-x}\n", "bad.yml"), "--skip-interpolation");

        Assert.Equal((0, ""), (code, error));
        Assert.Contains("    image: busybox:${TAG:-latest}\n", output, StringComparison.Ordinal);
        Assert.Contains("          - node.role==${ROLE}\n", output, StringComparison.Ordinal);
        // Without a variable in it, an image is still checked.
        Assert.Equal(1, badCode);
        Assert.Contains("services.web.image", badError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Config_With_Skip_Interpolation_Prints_A_Mode_Or_Condition_With_A_Variable_As_Written_As_Docker_Does()
    {
        // docker's schema takes these as any string and its loader keeps them as text; only converting the service for the API checks them.
        var path = File("""
            services:
              web:
                image: nginx
                ports:
                  - {target: 80, published: 8080, mode: "${PORT_MODE}", protocol: "${PROTO}"}
                deploy:
                  mode: ${MODE}
                  endpoint_mode: ${ENDPOINT}
                  restart_policy: {condition: "${CONDITION}"}
                  update_config: {failure_action: "${ACTION}"}
            """, "words.yml");

        var (code, output, error) = await RunAsync(NoNode(), "stack", "config", "-c", path, "--skip-interpolation");

        Assert.Equal((0, ""), (code, error));
        Assert.Contains("      mode: ${MODE}\n", output, StringComparison.Ordinal);
        Assert.Contains("      endpoint_mode: ${ENDPOINT}\n", output, StringComparison.Ordinal);
        Assert.Contains("        condition: ${CONDITION}\n", output, StringComparison.Ordinal);
        Assert.Contains("        failure_action: ${ACTION}\n", output, StringComparison.Ordinal);
        Assert.Contains("      - mode: ${PORT_MODE}\n", output, StringComparison.Ordinal);
        Assert.Contains("        protocol: ${PROTO}\n", output, StringComparison.Ordinal);

        // A number docker's schema wants stays checked, and is named for what it is, not taken for a range.
        var (badCode, _, badError) = await RunAsync(NoNode(), "stack", "config", "-c", File("services:\n  web:\n    image: nginx\n    ports: [{target: 80, published: \"${P:-8080}\"}]\n", "port.yml"), "--skip-interpolation");
        Assert.Equal(1, badCode);
        Assert.Contains("services.web.ports[0].published: expected an integer, got \"${P:-8080}\"", badError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Config_Reads_The_File_From_Stdin_Names_It_Dash_And_Resolves_Paths_From_The_Working_Directory()
    {
        var secret = File("s3cret", "token.txt");
        var relative = Path.GetRelativePath(Directory.GetCurrentDirectory(), secret);
        var yaml = $"version: \"3.8\"\nservices:\n  web:\n    image: nginx\nsecrets:\n  token:\n    file: {relative}\n";

        var (code, output, error) = await RunWithInputAsync(NoNode(), System.Text.Encoding.UTF8.GetBytes(yaml), CancellationToken.None, "stack", "config", "-c", "-");
        var bad = await RunWithInputAsync(NoNode(), "services:\n  web:\n    image: nginx\n    deploy:\n      replicas: many\n"u8.ToArray(), CancellationToken.None, "stack", "config", "-c", "-");
        var twice = await RunWithInputAsync(NoNode(), System.Text.Encoding.UTF8.GetBytes(yaml), CancellationToken.None, "stack", "config", "-c", "-", "-c", "-");

        Assert.Equal((0, ""), (code, error));
        Assert.Contains($"    file: {secret}\n", output, StringComparison.Ordinal);
        Assert.Equal((1, "", "-:5:17: services.web.deploy.replicas: expected an integer, got \"many\"\n"), bad);
        Assert.Equal((1, "", "-:1:1: the standard input can be read only once; give -c - once, and the other files by name\n"), twice);
    }

    [Fact]
    public async Task Config_Quotes_What_Yaml_Would_Read_As_Another_Type_And_Keeps_Extensions()
    {
        var path = File("""
            x-defaults: &defaults
              image: nginx
            services:
              web:
                <<: *defaults
                environment:
                  DEBUG: "true"
                  PORT: 8080
                labels: [n=no]
            networks:
              n: {}
            """, "types.yml");

        var (code, output, _) = await RunAsync(NoNode(), "stack", "config", "-c", path);

        Assert.Equal(0, code);
        Assert.Equal(
            """
            version: "3.13"
            services:
              web:
                environment:
                  DEBUG: "true"
                  PORT: "8080"
                image: nginx
                labels:
                  "n": "no"
            networks:
              "n": {}
            x-defaults:
              image: nginx

            """,
            output);
    }

    [Fact]
    public async Task Config_Prints_An_Interpolated_Number_Or_Boolean_As_The_Type_Docker_Casts_It_To()
    {
        var path = File("""
            version: "3.8"
            services:
              web:
                image: nginx
                read_only: "${STACK_CONFIG_TEST_UNSET:-yes}"
                healthcheck:
                  test: ["CMD", "true"]
                  retries: "${STACK_CONFIG_TEST_UNSET:-4}"
                ports:
                  - target: 80
                    published: "${STACK_CONFIG_TEST_UNSET:-8080}"
                deploy:
                  replicas: "${STACK_CONFIG_TEST_UNSET:-3}"
                  update_config: {parallelism: "${STACK_CONFIG_TEST_UNSET:-2}", max_failure_ratio: "${STACK_CONFIG_TEST_UNSET:-0.25}"}
                  resources: {limits: {cpus: "0.5"}}
                environment:
                  PORT: "${STACK_CONFIG_TEST_UNSET:-8080}"
            """, "casts.yml");

        var (code, output, error) = await RunAsync(NoNode(), "stack", "config", "-c", path);

        Assert.Equal((0, ""), (code, error));
        // docker/cli's loader casts these keys to its types (interpolateTypeCastMapping) and prints the types.
        Assert.Contains("      replicas: 3\n", output, StringComparison.Ordinal);
        Assert.Contains("      retries: 4\n", output, StringComparison.Ordinal);
        Assert.Contains("        published: 8080\n", output, StringComparison.Ordinal);
        Assert.Contains("        parallelism: 2\n", output, StringComparison.Ordinal);
        Assert.Contains("        max_failure_ratio: 0.25\n", output, StringComparison.Ordinal);
        Assert.Contains("    read_only: true\n", output, StringComparison.Ordinal);
        // cpus is a string in docker's types, and an environment value is always text: both stay quoted.
        Assert.Contains("          cpus: \"0.5\"\n", output, StringComparison.Ordinal);
        Assert.Contains("      PORT: \"8080\"\n", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Config_Prints_Modes_As_Docker_Loads_Them_And_A_Short_Volumes_Propagation_In_Long_Form()
    {
        File("secret", "token.txt");
        var path = File("""
            services:
              web:
                image: nginx
                volumes: ["/srv:/srv:ro,rslave"]
                secrets:
                  - source: token
                    mode: 0440
                  - source: token
                    target: again
                    mode: "${STACK_CONFIG_TEST_UNSET:-0440}"
            secrets:
              token:
                file: ./token.txt
            """, "modes.yml");

        var (code, output, error) = await RunAsync(NoNode(), "stack", "config", "-c", path);

        Assert.Equal(0, code);
        Assert.Contains("decimal 440 (0670)", error, StringComparison.Ordinal);
        // YAML 1.1's octal 0440 is 288; a variable's "0440" is Atoi's 440, as docker's loader casts it.
        Assert.Contains("        mode: 288\n", output, StringComparison.Ordinal);
        Assert.Contains("        mode: 440\n", output, StringComparison.Ordinal);
        Assert.Contains("        read_only: true\n        bind:\n          propagation: rslave\n", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0L, "0s")]
    [InlineData(10 * TimeSpan.TicksPerSecond, "10s")]
    [InlineData(90 * TimeSpan.TicksPerSecond, "1m30s")]
    [InlineData(TimeSpan.TicksPerHour, "1h0m0s")]
    [InlineData(300 * TimeSpan.TicksPerMillisecond, "300ms")]
    [InlineData(1500 * TimeSpan.TicksPerMillisecond, "1.5s")]
    [InlineData(15 * TimeSpan.TicksPerMicrosecond, "15µs")]
    public void Durations_Are_Written_As_Go_Writes_Them(long ticks, string expected)
    {
        Assert.Equal(expected, ProtoSwarm.Contracts.GoDuration.Format(TimeSpan.FromTicks(ticks)));
    }
}
