using System.Globalization;
using System.Text.Json.Nodes;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Output;

/// <summary>What `registry token`, `registry ls` and `registry gc` print.</summary>
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

    /// <summary>
    /// `registry gc`: each manifest deleted and blob unlinked, a line per repository, then what this manager's disk lost
    /// and one line that sums it up; a dry run says "would" throughout.
    /// </summary>
    public static string GarbageReport(RegistryGarbageCollected collected)
    {
        var text = new System.Text.StringBuilder();
        var would = collected.DryRun ? "would " : string.Empty;
        foreach (var repository in collected.Repositories)
        {
            foreach (var manifest in repository.Manifests)
            {
                text.Append(CultureInfo.InvariantCulture, $"{repository.Repository}: {would}delete manifest {manifest}\n");
            }

            foreach (var (digest, size) in repository.Blobs)
            {
                text.Append(CultureInfo.InvariantCulture, $"{repository.Repository}: {would}unlink blob {digest} ({ImageView.HumanSize(size)})\n");
            }
        }

        var manifests = collected.Repositories.Sum(r => r.Manifests.Length);
        var links = collected.Repositories.Sum(r => r.Blobs.Count);
        text.Append(CultureInfo.InvariantCulture,
            $"{collected.Manager}: {(collected.DryRun ? "would remove" : "removed")} {Plural(collected.BlobFilesRemoved, "blob file")} and {Plural(collected.UploadsRemoved, "abandoned upload")}, {ImageView.HumanSize(collected.BytesFreed)}\n");
        var behind = collected.OtherManagers - collected.OtherManagersSwept;
        if (!collected.DryRun && collected.OtherManagersSwept > 0)
        {
            text.Append(CultureInfo.InvariantCulture,
                $"{(behind > 0 ? $"{collected.OtherManagersSwept} of the other {Plural(collected.OtherManagers, "manager")}" : $"The other {Plural(collected.OtherManagers, "manager")}")} swept their disks too.\n");
        }

        if (!collected.DryRun && behind > 0)
        {
            text.Append(CultureInfo.InvariantCulture,
                $"{(collected.OtherManagersSwept > 0 ? $"The other {Plural(behind, "manager")} did not answer and remove" : $"The other {Plural(behind, "manager")} remove")} the blob files no repository links at their hourly sweep (or run `registry gc` on each).\n");
        }

        text.Append(collected.DryRun
            ? $"Dry run: nothing was removed; {Plural(manifests, "manifest")} and {Plural(links, "blob link")} are eligible for deletion, {ImageView.HumanSize(collected.BytesFreed)} on {collected.Manager}.\n"
            : $"Deleted {Plural(manifests, "manifest")} and {Plural(links, "blob link")}; total reclaimed space on {collected.Manager}: {ImageView.HumanSize(collected.BytesFreed)}\n");
        return text.ToString();
    }

    private static string Plural(int count, string noun) =>
        count == 1 ? $"1 {noun}" : $"{count.ToString(CultureInfo.InvariantCulture)} {noun}s";
}
