using System.Collections.Immutable;
using ProtoSwarm.Actors.Orchestration;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Nodes;

/// <summary>
/// The secrets and configs one node must hold, with their data, by id. Only what the node's own
/// tasks reference, and only from the store: a reference to a secret the store no longer has is left
/// out (the node's agent then refuses the task, "secret X not found").
/// </summary>
public sealed record NodePayloadSet(
    ImmutableSortedDictionary<string, SecretPayload> Secrets,
    ImmutableSortedDictionary<string, SecretPayload> Configs)
{
    public static readonly NodePayloadSet Empty = new(
        ImmutableSortedDictionary.Create<string, SecretPayload>(StringComparer.Ordinal),
        ImmutableSortedDictionary.Create<string, SecretPayload>(StringComparer.Ordinal));
}

/// <summary>What one assignments message carries of secrets and configs: the newly needed ones whole, the ids of those no longer needed.</summary>
public sealed record NodePayloadDelta(
    ImmutableArray<SecretPayload> Secrets,
    ImmutableArray<string> SecretsRemoved,
    ImmutableArray<SecretPayload> Configs,
    ImmutableArray<string> ConfigsRemoved)
{
    public bool IsEmpty => Secrets.IsEmpty && SecretsRemoved.IsEmpty && Configs.IsEmpty && ConfigsRemoved.IsEmpty;
}

/// <summary>Pure: which secrets and configs a node's tasks need, and what to send for them.</summary>
public static class NodePayloads
{
    /// <summary>
    /// Whether an assigned task's secrets and configs go to its node: until the task has ended, so a
    /// task being shut down keeps them, and an ended one (its container will not run again) releases
    /// them, as swarmkit's dispatcher does.
    /// </summary>
    public static bool Holds(TaskObject task) => !TaskStates.IsTerminal(task.Status.State);

    /// <summary>The payloads the given tasks (those assigned to one node) need, from the store.</summary>
    public static NodePayloadSet Of(StoreState state, IEnumerable<TaskObject> tasks)
    {
        var secrets = ImmutableSortedDictionary.CreateBuilder<string, SecretPayload>(StringComparer.Ordinal);
        var configs = ImmutableSortedDictionary.CreateBuilder<string, SecretPayload>(StringComparer.Ordinal);
        foreach (var container in tasks.Where(Holds).Select(t => t.Spec.Container))
        {
            foreach (var reference in container.Secrets)
            {
                if (!secrets.ContainsKey(reference.SecretId) && state.Get<SecretObject>(reference.SecretId) is { } secret)
                {
                    secrets[secret.Id] = new SecretPayload(secret.Id, secret.Spec.Name, secret.Spec.Data, secret.Spec.Templating);
                }
            }

            foreach (var reference in container.Configs)
            {
                if (!configs.ContainsKey(reference.ConfigId) && state.Get<ConfigObject>(reference.ConfigId) is { } config)
                {
                    configs[config.Id] = new SecretPayload(config.Id, config.Spec.Name, config.Spec.Data, config.Spec.Templating);
                }
            }
        }

        return secrets.Count == 0 && configs.Count == 0 ? NodePayloadSet.Empty : new NodePayloadSet(secrets.ToImmutable(), configs.ToImmutable());
    }

    /// <summary>
    /// What to send, given the ids the node was sent before: everything when full; else what is
    /// needed and was not sent, and the ids sent that are no longer needed. A secret's data never
    /// changes (only its labels may), so an id sent once is not sent again.
    /// </summary>
    public static NodePayloadDelta Delta(NodePayloadSet needed, IReadOnlySet<string> sentSecrets, IReadOnlySet<string> sentConfigs, bool full) =>
        new(
            [.. needed.Secrets.Values.Where(s => full || !sentSecrets.Contains(s.Id))],
            full ? [] : [.. sentSecrets.Where(id => !needed.Secrets.ContainsKey(id)).Order(StringComparer.Ordinal)],
            [.. needed.Configs.Values.Where(c => full || !sentConfigs.Contains(c.Id))],
            full ? [] : [.. sentConfigs.Where(id => !needed.Configs.ContainsKey(id)).Order(StringComparer.Ordinal)]);
}
