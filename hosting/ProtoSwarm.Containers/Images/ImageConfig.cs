using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;

namespace ProtoSwarm.Containers.Images;

/// <summary>A health check from the image (docker's HEALTHCHECK); zero durations mean the default.</summary>
public sealed record ImageHealthcheck(
    ImmutableArray<string> Test,
    TimeSpan Interval,
    TimeSpan Timeout,
    TimeSpan StartPeriod,
    int Retries,
    TimeSpan StartInterval = default);

/// <summary>
/// What the container runtime honours from an image's config (the OCI image config's `config`
/// object), plus where it runs and its layers' diff ids. <see cref="Volumes"/> are the paths the image declares VOLUME
/// for (the keys of `config.Volumes`): each container gets an anonymous volume there unless one of its mounts is there.
/// </summary>
public sealed record ImageConfig(
    ImmutableArray<string> Entrypoint,
    ImmutableArray<string> Cmd,
    ImmutableArray<string> Env,
    string WorkingDir,
    string User,
    ImmutableArray<string> ExposedPorts,
    ImageHealthcheck? Healthcheck,
    ImmutableSortedDictionary<string, string> Labels,
    string StopSignal,
    string Architecture,
    string Os,
    DateTimeOffset? Created,
    ImmutableArray<string> DiffIds,
    ImmutableArray<string> Volumes = default)
{
    /// <summary>The image's VOLUME paths, never default.</summary>
    public ImmutableArray<string> Volumes { get; init; } = Volumes.IsDefault ? [] : Volumes;

    /// <summary>Reads an image config; a malformed one throws <see cref="ImageStoreException"/> naming <paramref name="where"/>.</summary>
    public static ImageConfig Parse(ReadOnlySpan<byte> json, string where)
    {
        try
        {
            using var document = JsonDocument.Parse(json.ToArray());
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw ImageStoreException.Corrupt($"{where}: the image config is not a JSON object");
            }

            var config = root.TryGetProperty("config", out var c) && c.ValueKind == JsonValueKind.Object ? c : default;
            var diffIds = root.TryGetProperty("rootfs", out var rootfs) && rootfs.ValueKind == JsonValueKind.Object
                ? Strings(rootfs, "diff_ids")
                : [];
            return new ImageConfig(
                Strings(config, "Entrypoint"),
                Strings(config, "Cmd"),
                Strings(config, "Env"),
                Text(config, "WorkingDir"),
                Text(config, "User"),
                Keys(config, "ExposedPorts"),
                Health(config),
                LabelPairs(config).ToImmutableSortedDictionary(StringComparer.Ordinal),
                Text(config, "StopSignal"),
                Text(root, "architecture"),
                Text(root, "os"),
                DateTimeOffset.TryParse(Text(root, "created"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var created) ? created : null,
                diffIds,
                Keys(config, "Volumes"));
        }
        catch (JsonException e)
        {
            throw ImageStoreException.Corrupt($"{where}: the image config is not valid JSON ({e.Message})");
        }
        catch (InvalidOperationException e)
        {
            throw ImageStoreException.Corrupt($"{where}: the image config has a field of the wrong type ({e.Message})");
        }
    }

    private static string Text(JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : string.Empty;

    private static ImmutableArray<string> Strings(JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array
            ? [.. v.EnumerateArray().Select(e => e.GetString() ?? string.Empty)]
            : [];

    private static ImmutableArray<string> Keys(JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Object
            ? [.. v.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal)]
            : [];

    private static IEnumerable<KeyValuePair<string, string>> LabelPairs(JsonElement config) =>
        config.ValueKind == JsonValueKind.Object && config.TryGetProperty(nameof(Labels), out var v) && v.ValueKind == JsonValueKind.Object
            ? v.EnumerateObject().DistinctBy(p => p.Name).Select(p => KeyValuePair.Create(p.Name, p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.ToString()))
            : [];

    private static ImageHealthcheck? Health(JsonElement config)
    {
        if (config.ValueKind != JsonValueKind.Object || !config.TryGetProperty(nameof(Healthcheck), out var h) || h.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        // Durations are Go time.Duration nanoseconds.
        static TimeSpan Nanos(JsonElement h, string name) =>
            h.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? TimeSpan.FromTicks(v.GetInt64() / 100) : TimeSpan.Zero;

        return new ImageHealthcheck(
            Strings(h, "Test"),
            Nanos(h, "Interval"),
            Nanos(h, "Timeout"),
            Nanos(h, "StartPeriod"),
            h.TryGetProperty("Retries", out var r) && r.ValueKind == JsonValueKind.Number ? r.GetInt32() : 0,
            Nanos(h, "StartInterval"));
    }
}
