using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Managers;

/// <summary>
/// The managers' decisions on `secret` and `config create / rm` and on the references a service
/// makes to them, apart from the actor that reads the store and proposes. Secrets and configs are
/// immutable: there is no update, a new content is a new object under a new name.
/// </summary>
public static partial class SecretCommands
{
    public const int MaxNameLength = 64;

    /// <summary>The kinds as messages name them.</summary>
    public const string Secret = "secret";
    public const string Config = "config";

    /// <summary>Where a task finds its secrets; a secret's target is a file name in it.</summary>
    public const string SecretsDirectory = "/run/secrets";

    // docker's rule for secret and config names: letters and digits at both ends, '-', '_' and '.' inside.
    [GeneratedRegex("^[a-zA-Z0-9]+(?:[a-zA-Z0-9-_.]*[a-zA-Z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex ObjectName();

    /// <summary>Why a name cannot name a secret or config, or null when it can.</summary>
    public static string? NameProblem(string kind, string name) =>
        string.IsNullOrEmpty(name)
            ? $"the {kind} has no name; give one as the first argument: {kind} create NAME FILE"
            : name.Length > MaxNameLength || !ObjectName().IsMatch(name)
                ? $"invalid name '{name}', only {MaxNameLength} [a-zA-Z0-9-_.] characters allowed, and the start and end character must be [a-zA-Z0-9]"
                : null;

    /// <summary>`secret create`: the secret to store, or why not (bad name, empty or too large data, a name taken).</summary>
    public static (SecretObject? Created, CommandRejected? Rejected) Create(SecretSpec spec, IReadOnlyCollection<SecretObject> existing, string id, DateTimeOffset now)
    {
        if (SpecProblem(Secret, spec.Name, spec.Labels, spec.Data, spec.Templating) is { } invalid)
        {
            return (null, invalid);
        }

        return existing.FirstOrDefault(s => s.Spec.Name == spec.Name) is { } clash
            ? (null, AlreadyExists(Secret, spec.Name, clash.Id))
            : (new SecretObject(id, ObjectMeta.New(now), spec), null);
    }

    /// <summary>`config create`: as a secret, in a table of its own (a config may share a secret's name).</summary>
    public static (ConfigObject? Created, CommandRejected? Rejected) Create(ConfigSpec spec, IReadOnlyCollection<ConfigObject> existing, string id, DateTimeOffset now)
    {
        if (SpecProblem(Config, spec.Name, spec.Labels, spec.Data, spec.Templating) is { } invalid)
        {
            return (null, invalid);
        }

        return existing.FirstOrDefault(c => c.Spec.Name == spec.Name) is { } clash
            ? (null, AlreadyExists(Config, spec.Name, clash.Id))
            : (new ConfigObject(id, ObjectMeta.New(now), spec), null);
    }

    /// <summary>
    /// `stack deploy` creating what exists already: kept when the data and the template driver are the same
    /// (null), else refused as docker refuses it, since only a secret's or config's labels may change.
    /// </summary>
    public static CommandRejected? ChangedData(string kind, string name, byte[] stored, byte[] given, string? storedTemplating = null, string? givenTemplating = null) =>
        CryptographicOperations.FixedTimeEquals(stored, given) && storedTemplating == givenTemplating
            ? null
            : new CommandRejected(RejectCode.InvalidArgument,
                $"{kind} {name} exists with other {(storedTemplating == givenTemplating ? "data" : "template driver")}: only updates to Labels are allowed; {kind}s are immutable, so give the changed {kind} "
                + $"a new name (name: in the compose file) and deploy again, or remove the services using it and the {kind} first.");

    public static (SecretObject? Secret, CommandRejected? Rejected) Resolve(IEnumerable<SecretObject> secrets, string secretRef) =>
        Resolve(secrets, secretRef, Secret, s => s.Spec.Name);

    public static (ConfigObject? Config, CommandRejected? Rejected) Resolve(IEnumerable<ConfigObject> configs, string configRef) =>
        Resolve(configs, configRef, Config, c => c.Spec.Name);

    /// <summary>Why the secret cannot be removed now (services use it, named as docker names them), or null.</summary>
    public static CommandRejected? RemovalProblem(SecretObject secret, IEnumerable<ServiceObject> services) =>
        InUse(Secret, secret.Spec.Name, services.Where(s => s.Spec.TaskTemplate.Container.Secrets.Any(r => r.SecretId == secret.Id)));

    public static CommandRejected? RemovalProblem(ConfigObject config, IEnumerable<ServiceObject> services) =>
        InUse(Config, config.Spec.Name, services.Where(s => s.Spec.TaskTemplate.Container.Configs.Any(r => r.ConfigId == config.Id)));

    /// <summary>What `secret ls / inspect` show: never the data.</summary>
    public static SecretSummary Summary(SecretObject secret) =>
        new(secret.Id, secret.Spec.Name, secret.Spec.Labels, secret.Meta.CreatedAt, secret.Meta.UpdatedAt, secret.Meta.Version, secret.Spec.Templating);

    /// <summary>What `config ls` shows, and `config inspect` with the data.</summary>
    public static ConfigSummary Summary(ConfigObject config, bool withData) =>
        new(config.Id, config.Spec.Name, config.Spec.Labels, config.Meta.CreatedAt, config.Meta.UpdatedAt, config.Meta.Version, withData ? config.Spec.Data : null, config.Spec.Templating);

    /// <summary>
    /// The spec as it is stored: each secret and config reference names its object by name (or id)
    /// and gets the id and the name as the store has them; an empty target becomes docker's default
    /// (the secret's name under /run/secrets, /NAME for a config). An unknown one is refused as
    /// docker refuses it; the targets are the spec validator's to check.
    /// </summary>
    public static (ServiceSpec Spec, CommandRejected? Rejected) ResolveReferences(
        ServiceSpec spec, IReadOnlyCollection<SecretObject> secrets, IReadOnlyCollection<ConfigObject> configs)
    {
        var container = spec.TaskTemplate.Container;
        if (container.Secrets.IsEmpty && container.Configs.IsEmpty)
        {
            return (spec, null);
        }

        var resolvedSecrets = ImmutableArray.CreateBuilder<SecretReference>(container.Secrets.Length);
        foreach (var reference in container.Secrets)
        {
            var wanted = reference.SecretName.Length > 0 ? reference.SecretName : reference.SecretId;
            if (Find(secrets, wanted, s => s.Spec.Name) is not { } secret)
            {
                return (spec, NotFound(Secret, wanted));
            }

            var file = reference.File.Name.Length > 0 ? reference.File : reference.File with { Name = secret.Spec.Name };
            resolvedSecrets.Add(new SecretReference(secret.Id, secret.Spec.Name, file));
        }

        var resolvedConfigs = ImmutableArray.CreateBuilder<ConfigReference>(container.Configs.Length);
        foreach (var reference in container.Configs)
        {
            var wanted = reference.ConfigName.Length > 0 ? reference.ConfigName : reference.ConfigId;
            if (Find(configs, wanted, c => c.Spec.Name) is not { } config)
            {
                return (spec, NotFound(Config, wanted));
            }

            var file = reference.File.Name.Length > 0 ? reference.File : reference.File with { Name = "/" + config.Spec.Name };
            resolvedConfigs.Add(new ConfigReference(config.Id, config.Spec.Name, file));
        }

        var resolved = container with { Secrets = resolvedSecrets.MoveToImmutable(), Configs = resolvedConfigs.MoveToImmutable() };
        return (spec with { TaskTemplate = spec.TaskTemplate with { Container = resolved } }, null);
    }

    /// <summary>
    /// A rollback restores the previous spec as it was stored, with the ids it named then: refused when one of
    /// its secrets or configs was removed since (the tasks could only be rejected), naming it.
    /// </summary>
    public static CommandRejected? RollbackProblem(
        string serviceName, ServiceSpec previous, IReadOnlyCollection<SecretObject> secrets, IReadOnlyCollection<ConfigObject> configs)
    {
        var container = previous.TaskTemplate.Container;
        var gone = container.Secrets.Where(r => !secrets.Any(s => s.Id == r.SecretId)).Select(r => $"{Secret} '{r.SecretName}'")
            .Concat(container.Configs.Where(r => !configs.Any(c => c.Id == r.ConfigId)).Select(r => $"{Config} '{r.ConfigName}'"))
            .Distinct(StringComparer.Ordinal)
            .ToList();
        return gone.Count == 0
            ? null
            : new CommandRejected(RejectCode.InvalidArgument,
                $"Service {serviceName} cannot roll back: its previous spec uses {string.Join(", ", gone)}, removed since; "
                + $"update the service instead (`protoswarm service update --secret-rm/--config-rm ... {serviceName}`).");
    }

    private static CommandRejected? SpecProblem(string kind, string name, ImmutableSortedDictionary<string, string> labels, byte[]? data, string? templating)
    {
        var problems = new List<string>();
        if (NameProblem(kind, name) is { } nameProblem)
        {
            problems.Add(nameProblem);
        }

        if (TemplateDrivers.Problem(kind, templating) is { } driverProblem)
        {
            problems.Add(driverProblem);
        }

        if (labels.Keys.Any(k => k.Trim().Length == 0))
        {
            problems.Add("a label has an empty name; write each label as --label name=value");
        }

        if (data is null || data.Length == 0 || data.Length > SecretSpec.MaxDataBytes)
        {
            problems.Add($"{kind} data must be larger than 0 and less than 500 KiB (it is {data?.Length ?? 0} bytes); give a file that is not empty and at most {SecretSpec.MaxDataBytes} bytes");
        }

        return problems.Count == 0
            ? null
            : new CommandRejected(RejectCode.InvalidArgument, $"The {kind} {name} cannot be created: {string.Join("; ", problems)}.");
    }

    private static CommandRejected AlreadyExists(string kind, string name, string id) =>
        new(RejectCode.Conflict,
            $"{kind} {name} already exists ({id}); {kind}s cannot be changed, so create one under a new name and move the services to it "
            + $"(`protoswarm service update --{kind}-rm {name} --{kind}-add source=NEW,target=... SERVICE`), or remove the old one first.");

    private static CommandRejected NotFound(string kind, string name) =>
        new(RejectCode.NotFound, $"{kind} not found: {name}; create it first (`protoswarm {kind} create {name} FILE`), or see `protoswarm {kind} ls`.");

    private static CommandRejected? InUse(string kind, string name, IEnumerable<ServiceObject> users)
    {
        var names = users.Select(s => s.Spec.Name).Order(StringComparer.Ordinal).ToList();
        return names.Count == 0
            ? null
            : new CommandRejected(RejectCode.InvalidArgument,
                $"{kind} '{name}' is in use by the following service{(names.Count > 1 ? "s" : "")}: {string.Join(", ", names)}; "
                + $"remove {(names.Count > 1 ? "them" : "it")} (`protoswarm service rm`) or stop using the {kind} (`protoswarm service update --{kind}-rm {name} SERVICE`) first.");
    }

    /// <summary>By exact name, then exact id: what a --secret source= may give.</summary>
    private static T? Find<T>(IEnumerable<T> all, string wanted, Func<T, string> nameOf)
        where T : class, IStoreObject
    {
        var list = all as IReadOnlyCollection<T> ?? [.. all];
        return list.FirstOrDefault(o => nameOf(o) == wanted) ?? list.FirstOrDefault(o => o.Id == wanted);
    }

    /// <summary>By full id, exact name, or a unique id prefix, as docker resolves them.</summary>
    private static (T? Found, CommandRejected? Rejected) Resolve<T>(IEnumerable<T> objects, string reference, string kind, Func<T, string> nameOf)
        where T : class, IStoreObject
    {
        var all = objects.ToList();
        if (string.IsNullOrWhiteSpace(reference))
        {
            return (null, new CommandRejected(RejectCode.InvalidArgument, $"No {kind} was named; give a {kind} id, id prefix or name (see `protoswarm {kind} ls`)."));
        }

        if (all.FirstOrDefault(o => o.Id == reference) is { } exact)
        {
            return (exact, null);
        }

        if (all.FirstOrDefault(o => nameOf(o) == reference) is { } named)
        {
            return (named, null);
        }

        var byPrefix = all.Where(o => o.Id.StartsWith(reference, StringComparison.Ordinal)).ToList();
        return byPrefix.Count switch
        {
            1 => (byPrefix[0], null),
            0 => (null, new CommandRejected(RejectCode.NotFound, $"No such {kind}: {reference}. See `protoswarm {kind} ls` for the swarm's {kind}s.")),
            _ => (null, new CommandRejected(RejectCode.Conflict, $"{char.ToUpperInvariant(kind[0])}{kind[1..]} reference {reference} is ambiguous: {byPrefix.Count} {kind} ids start with it; give more of the id or the name.")),
        };
    }
}
