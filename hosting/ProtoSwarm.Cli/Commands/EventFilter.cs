using System.Collections.Immutable;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Commands;

/// <summary>
/// `events --filter`, matched as dockerd's events filter matches: type, event (the action) and scope exactly; container,
/// service, node, secret, config and network by the actor's id or name, whole or as a prefix (of any event that has
/// one, as docker does); image by the image attribute (a container's) or the id, also without its tag; label by the
/// attributes (KEY or KEY=VALUE, every one given must match). Values of one key are alternatives; keys combine.
/// </summary>
internal sealed class EventFilter
{
    public static readonly ImmutableArray<string> Keys =
        ["config", "container", "event", "image", "label", "network", "node", "scope", "secret", "service", "type"];

    private static readonly ImmutableArray<string> NamedKeys = ["config", "container", "network", "node", "secret", "service"];

    private readonly ILookup<string, string> _terms;

    private EventFilter(ILookup<string, string> terms) => _terms = terms;

    public static EventFilter Parse(IEnumerable<string> filters) =>
        new(filters.Select(f => f.Split('=', 2)).ToLookup(p => p[0].Trim().ToLowerInvariant(), p => p[1], StringComparer.Ordinal));

    /// <summary>docker's refusals of a --filter: its shape, then its key.</summary>
    public static string? Check(string filter)
    {
        var equals = filter.IndexOf('=', StringComparison.Ordinal);
        if (equals <= 0)
        {
            return $"bad format of filter (expected name=value): '{filter}'; use one of {string.Join(", ", Keys)} as name.";
        }

        var key = filter[..equals].Trim().ToLowerInvariant();
        return Keys.Contains(key) ? null : $"invalid filter '{key}': use one of {string.Join(", ", Keys)}.";
    }

    public bool Matches(SwarmEvent e) =>
        Exact("type", e.Type) && Exact("event", e.Action) && Exact("scope", e.Scope)
        && NamedKeys.All(key => Named(key, e))
        && Image(e) && Labels(e.Attributes);

    private bool Exact(string key, string value) => !_terms.Contains(key) || _terms[key].Contains(value, StringComparer.Ordinal);

    private bool Named(string key, SwarmEvent e)
    {
        if (!_terms.Contains(key))
        {
            return true;
        }

        var name = e.Attributes.GetValueOrDefault("name", string.Empty);
        return _terms[key].Any(v => e.ActorId.StartsWith(v, StringComparison.Ordinal) || name.StartsWith(v, StringComparison.Ordinal));
    }

    private bool Image(SwarmEvent e)
    {
        if (!_terms.Contains("image"))
        {
            return true;
        }

        var image = e.Attributes.GetValueOrDefault(e.Type == "image" ? "name" : "image", string.Empty);
        return _terms["image"].Any(v => v == e.ActorId || v == image || v == WithoutTag(e.ActorId) || v == WithoutTag(image));
    }

    private bool Labels(ImmutableSortedDictionary<string, string> attributes) =>
        _terms["label"].All(term => ServiceFilter.MatchesLabel(attributes, term));

    /// <summary>An image reference's familiar name without tag or digest: docker.io/library/nginx:1.27 is nginx.</summary>
    internal static string WithoutTag(string reference)
    {
        var name = reference.Split('@')[0];
        var slash = name.LastIndexOf('/');
        var colon = name.LastIndexOf(':');
        if (colon > slash)
        {
            name = name[..colon];
        }

        foreach (var prefix in (string[])["docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/"])
        {
            if (name.StartsWith(prefix, StringComparison.Ordinal))
            {
                return name[prefix.Length..];
            }
        }

        return name;
    }
}
