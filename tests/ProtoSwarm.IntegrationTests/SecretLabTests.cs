using System.Text;
using System.Text.Json;
using static ProtoSwarm.IntegrationTests.LabQueries;

namespace ProtoSwarm.IntegrationTests;

/// <summary>
/// Secrets and configs on a lab swarm (1 manager, 1 worker, the test executor), the managers' side as
/// an operator meets it through the CLI: create from files, ls, inspect (a secret's data never shown,
/// a config's is), rm refused while a service uses them and done once it is gone; then a stack that
/// brings its own secret and config, and `stack rm` that takes them away again. What the tasks find
/// in their containers is the node side's, and not tried here.
/// </summary>
[Trait("Category", "Cluster")]
[Collection(LabCollection.Name)]
public class SecretLabTests
{
    private const string Compose = """
        version: "3.8"
        services:
          app:
            image: busybox:latest
            secrets:
              - source: token
                target: api_token
                mode: 0400
            configs: [settings]
        secrets:
          token:
            file: ./token.txt
        configs:
          settings:
            file: ./settings.ini
        """;

    [Fact]
    public async Task Secrets_And_Configs_Are_Created_Listed_Inspected_Without_Secret_Data_And_Kept_While_A_Service_Uses_Them()
    {
        await using var lab = await LabFixture.UpAsync(managers: 1, workers: 1);
        Assert.True(await PollNodesReadyAsync(lab, 2, TimeSpan.FromSeconds(20)), "The lab's 2 nodes were not Ready within 20 s");
        var password = Path.Combine(lab.StateRoot, "password.txt");
        await File.WriteAllTextAsync(password, "hunter2-lab\n");
        var settings = Path.Combine(lab.StateRoot, "app.ini");
        await File.WriteAllTextAsync(settings, "[app]\nworkers = 2\n");

        var secret = await lab.ExecAsync("m1", "protoswarm", "secret", "create", "--label", "tier=db", "db_password", password);
        Assert.True(secret.ExitCode == 0, secret.ToString());
        var config = await lab.ExecAsync("m1", "protoswarm", "config", "create", "app_settings", settings);
        Assert.True(config.ExitCode == 0, config.ToString());
        var secretId = secret.StdOut.Trim();
        Assert.Matches("^[a-z0-9]{25}$", secretId);
        var taken = await lab.ExecAsync("m1", "protoswarm", "secret", "create", "db_password", password);
        Assert.True(taken.ExitCode == 1 && taken.StdErr.Contains("secret db_password already exists", StringComparison.Ordinal), taken.ToString());

        var ls = await lab.ExecAsync("m1", "protoswarm", "secret", "ls");
        Assert.True(ls.ExitCode == 0, ls.ToString());
        Assert.Matches("^ID +NAME +DRIVER +CREATED +UPDATED\n", ls.StdOut);
        Assert.Contains($"{secretId}   db_password ", ls.StdOut, StringComparison.Ordinal);
        Assert.Equal("app_settings", (await lab.ExecAsync("m1", "protoswarm", "config", "ls", "--format", "{{.Name}}")).StdOut.Trim());

        var inspect = await lab.ExecAsync("m1", "protoswarm", "secret", "inspect", "db_password");
        Assert.True(inspect.ExitCode == 0, inspect.ToString());
        Assert.DoesNotContain("hunter2", inspect.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes("hunter2-lab\n")), inspect.StdOut, StringComparison.Ordinal);
        var shown = JsonDocument.Parse(inspect.StdOut).RootElement[0];
        Assert.Equal((secretId, "db_password", "db"), (shown.GetProperty("ID").GetString(), shown.GetProperty("Spec").GetProperty("Name").GetString(), shown.GetProperty("Spec").GetProperty("Labels").GetProperty("tier").GetString()));
        Assert.False(shown.GetProperty("Spec").TryGetProperty("Data", out _));
        var configShown = await lab.ExecAsync("m1", "protoswarm", "config", "inspect", "--pretty", "app_settings");
        Assert.EndsWith("Data:\n[app]\nworkers = 2\n", configShown.StdOut, StringComparison.Ordinal);

        var create = await lab.ExecAsync("m1", "protoswarm", "service", "create", "--detach", "--name", "db", "--resolve-image", "never",
            "--secret", "source=db_password,target=password,mode=0400", "--config", "source=app_settings,target=/etc/app.ini", "busybox:latest");
        Assert.True(create.ExitCode == 0, create.ToString());
        var unknown = await lab.ExecAsync("m1", "protoswarm", "service", "create", "--detach", "--name", "other", "--resolve-image", "never", "--secret", "nope", "busybox:latest");
        Assert.True(unknown.ExitCode == 1 && unknown.StdErr.Contains("secret not found: nope", StringComparison.Ordinal), unknown.ToString());
        var service = await InspectAsync(lab, "db");
        Assert.Equal((secretId, "password"), (service.Spec.TaskTemplate.Container.Secrets.Single().SecretId, service.Spec.TaskTemplate.Container.Secrets[0].File.Name));

        var refused = await lab.ExecAsync("m1", "protoswarm", "secret", "rm", "db_password");
        Assert.True(refused.ExitCode == 1, refused.ToString());
        Assert.Contains("secret 'db_password' is in use by the following service: db", refused.StdErr, StringComparison.Ordinal);
        var configRefused = await lab.ExecAsync("m1", "protoswarm", "config", "rm", "app_settings");
        Assert.Contains("config 'app_settings' is in use by the following service: db", configRefused.StdErr, StringComparison.Ordinal);

        Assert.Equal(0, (await lab.ExecAsync("m1", "protoswarm", "service", "rm", "db")).ExitCode);
        var removed = await lab.ExecAsync("m1", "protoswarm", "secret", "rm", "db_password");
        Assert.True(removed.ExitCode == 0, removed.ToString());
        Assert.Equal(0, (await lab.ExecAsync("m1", "protoswarm", "config", "rm", "app_settings")).ExitCode);
        Assert.Empty((await lab.ExecAsync("m1", "protoswarm", "secret", "ls", "-q")).StdOut.Trim());

        // A stack brings its own secret and config, labelled with its namespace, and takes them away with it.
        await File.WriteAllTextAsync(Path.Combine(lab.StateRoot, "token.txt"), "t0k3n");
        await File.WriteAllTextAsync(Path.Combine(lab.StateRoot, "settings.ini"), "debug = false\n");
        var file = Path.Combine(lab.StateRoot, "app.yml");
        await File.WriteAllTextAsync(file, Compose);
        var deploy = await lab.ExecAsync("m1", "protoswarm", "stack", "deploy", "--detach", "--resolve-image", "never", "-c", file, "shop");
        Assert.True(deploy.ExitCode == 0, deploy.ToString());
        Assert.Contains("Creating secret shop_token\nCreating config shop_settings\nCreating service shop_app", deploy.StdOut, StringComparison.Ordinal);
        Assert.Equal("shop_token com.docker.stack.namespace=shop", (await lab.ExecAsync("m1", "protoswarm", "secret", "ls", "--format", "{{.Name}} {{.Labels}}")).StdOut.Trim());
        var again = await lab.ExecAsync("m1", "protoswarm", "stack", "deploy", "--detach", "--resolve-image", "never", "-c", file, "shop");
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains("1 service unchanged", again.StdOut, StringComparison.Ordinal);
        await File.WriteAllTextAsync(Path.Combine(lab.StateRoot, "token.txt"), "changed");
        var changed = await lab.ExecAsync("m1", "protoswarm", "stack", "deploy", "--detach", "--resolve-image", "never", "-c", file, "shop");
        Assert.True(changed.ExitCode == 1, changed.ToString());
        Assert.Contains("failed to update secret shop_token: secret shop_token exists with other data: only updates to Labels are allowed", changed.StdErr, StringComparison.Ordinal);

        var rm = await lab.ExecAsync("m1", "protoswarm", "stack", "rm", "shop");
        Assert.True(rm.ExitCode == 0, rm.ToString());
        Assert.Contains("Removing secret shop_token\nRemoving config shop_settings\n", rm.StdOut, StringComparison.Ordinal);
        Assert.Empty((await lab.ExecAsync("m1", "protoswarm", "secret", "ls", "-q")).StdOut.Trim());
        Assert.Empty((await lab.ExecAsync("m1", "protoswarm", "config", "ls", "-q")).StdOut.Trim());
    }
}
