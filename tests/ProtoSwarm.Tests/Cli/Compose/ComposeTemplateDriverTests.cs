using ProtoSwarm.Cli.Compose;

namespace ProtoSwarm.Tests.Cli.Compose;

/// <summary>compose's template_driver under a secret or config (docker's --template-driver).</summary>
public sealed class ComposeTemplateDriverTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("compose-tpl-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public void Template_Driver_Golang_Is_Kept_For_The_Stacks_Secret_And_Config_Without_A_Warning()
    {
        var result = Load("""
            services:
              web:
                image: nginx:1.27
                configs: [site, plain]
                secrets: [key]
            configs:
              site:
                file: ./site.conf
                template_driver: golang
              plain:
                file: ./site.conf
            secrets:
              key:
                file: ./site.conf
                template_driver: golang
            """);

        Assert.Empty(result.Errors.Select(e => e.ToString()));
        Assert.DoesNotContain(result.Warnings, w => w.Contains("template_driver", StringComparison.Ordinal));
        var stack = result.Stack!;
        Assert.Equal([("demo_plain", null), ("demo_site", "golang")], stack.Configs.Select(c => (c.Name, c.Templating)).OrderBy(c => c.Name));
        Assert.Equal("golang", Assert.Single(stack.Secrets).Templating);
    }

    [Fact]
    public void Another_Template_Driver_Is_Refused_At_Its_Key()
    {
        var result = Load("""
            services:
              web:
                image: nginx:1.27
                configs: [site]
            configs:
              site:
                file: ./site.conf
                template_driver: mustache
            """);

        Assert.Equal(
            ["8:22: configs.site.template_driver: template driver \"mustache\" is not supported for a config: the only one is \"golang\" (Go templates such as {{ .Service.Name }}); leave the driver out to have the data delivered as written"],
            result.Errors.Select(e => $"{e.Mark.Line}:{e.Mark.Column}: {e.Path}: {e.Message}"));
    }

    private ComposeResult Load(string yaml)
    {
        File.WriteAllText(Path.Combine(_temp, "site.conf"), "server_name {{.Service.Name}};\n");
        var path = Path.Combine(_temp, "stack.yml");
        File.WriteAllText(path, yaml);
        return ComposeLoader.Load([path], "demo", new Dictionary<string, string>());
    }
}
