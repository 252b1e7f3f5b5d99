using System.Globalization;
using System.Text.Json.Nodes;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Output;

/// <summary>What `registry token` and `registry ls` print.</summary>
internal static class RegistryView
{
    public static readonly IReadOnlyDictionary<string, string> Columns = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["Repository"] = "REPOSITORY",
        ["Tags"] = "TAGS",
        ["Manifests"] = "MANIFESTS",
        ["Size"] = "SIZE",
    };

    /// <summary>How to use the token from outside the swarm, as `swarm join-token` prints the join command.</summary>
    public static string TokenUsage(RegistryToken token, bool rotated)
    {
        var push = token.Role == "push";
        var example = push
            ? $"skopeo copy --dest-creds push:{token.Token} docker-archive:app.tar docker://MANAGER:PORT/me/app:1.0"
            : $"skopeo copy --src-creds pull:{token.Token} docker://MANAGER:PORT/me/app:1.0 oci-archive:app.tar";
        return (rotated ? $"Successfully rotated the registry's {token.Role} token.\n\n" : string.Empty) +
            $"To {(push ? "push images to" : "pull images from")} the swarm's registry with another tool, log in as user \"{token.Role}\" with this token, e.g.:\n\n" +
            $"    {example}\n\n" +
            "MANAGER:PORT is a manager's plain registry listener (protoswarmd --registry-listen ADDR:PORT). Name a\n" +
            "repository as services name the image: busybox:latest is library/busybox:latest there.\n";
    }

    public static string Table(IEnumerable<RepositorySummary> repositories) => Output.Table.Render(
        repositories.Select(r => (IReadOnlyList<string>)[r.Name, TagsText(r), ImageView.HumanSize(r.Size)])
            .Prepend(["REPOSITORY", "TAGS", "SIZE"]));

    public static JsonObject ToJson(RepositorySummary repository) => new()
    {
        ["Manifests"] = repository.Manifests.ToString(CultureInfo.InvariantCulture),
        ["Repository"] = repository.Name,
        ["Size"] = ImageView.HumanSize(repository.Size),
        ["Tags"] = TagsText(repository),
    };

    /// <summary>The tags in natural order ("1.9" before "1.10"), comma separated; `&lt;none&gt;` for a repository of untagged manifests.</summary>
    private static string TagsText(RepositorySummary repository) =>
        repository.Tags.Count == 0 ? "<none>" : string.Join(", ", repository.Tags.Keys.Order(NaturalOrder.Instance));
}
