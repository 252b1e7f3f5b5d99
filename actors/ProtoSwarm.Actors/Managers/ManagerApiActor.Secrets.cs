using Microsoft.Extensions.Logging;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Managers;

/// <summary>`secret` and `config create / ls / inspect / rm`; the decisions are <see cref="SecretCommands"/>. No answer carries a secret's data.</summary>
public sealed partial class ManagerApiActor
{
    private List<SecretObject> Secrets() => [.. State.List<SecretObject>()];

    private List<ConfigObject> Configs() => [.. State.List<ConfigObject>()];

    private async Task<object> OnCreateSecret(CreateSecret m)
    {
        for (var attempt = 0; ; attempt++)
        {
            var secrets = Secrets();
            if (m.ReuseIfSame && secrets.FirstOrDefault(s => s.Spec.Name == m.Spec.Name) is { } existing)
            {
                return SecretCommands.ChangedData(SecretCommands.Secret, existing.Spec.Name, existing.Spec.Data, m.Spec.Data ?? [], existing.Spec.Templating, m.Spec.Templating) ?? (object)new SecretCreated(existing.Id);
            }

            var (created, rejected) = SecretCommands.Create(m.Spec, secrets, SwarmIds.New(), _manager.Time.GetUtcNow());
            if (created is null)
            {
                return rejected!;
            }

            try
            {
                await _manager.Proposer.ProposeAsync([StoreChange.Create(created)]);
                LogFileObjectChanged(_logger, SecretCommands.Secret, created.Id, created.Spec.Name, "created");
                return new SecretCreated(created.Id);
            }
            catch (StoreConflictException) when (attempt < ConflictRetries)
            {
            }
        }
    }

    private SecretList OnListSecrets() =>
        new([.. Secrets().OrderBy(s => s.Spec.Name, StringComparer.Ordinal).ThenBy(s => s.Id, StringComparer.Ordinal).Select(SecretCommands.Summary)]);

    private object OnInspectSecret(InspectSecret m)
    {
        var (secret, rejected) = SecretCommands.Resolve(Secrets(), m.SecretRef);
        return secret is null ? rejected! : new SecretDetails(SecretCommands.Summary(secret));
    }

    private async Task<object> OnRemoveSecret(RemoveSecret m)
    {
        for (var attempt = 0; ; attempt++)
        {
            var (secret, rejected) = SecretCommands.Resolve(Secrets(), m.SecretRef);
            if (secret is null)
            {
                return rejected!;
            }

            if (SecretCommands.RemovalProblem(secret, Services()) is { } refused)
            {
                return refused;
            }

            try
            {
                await _manager.Proposer.ProposeAsync([StoreChange.Delete(secret)]);
                LogFileObjectChanged(_logger, SecretCommands.Secret, secret.Id, secret.Spec.Name, "removed");
                return new SecretRemoved(secret.Id);
            }
            catch (StoreConflictException) when (attempt < ConflictRetries)
            {
            }
        }
    }

    private async Task<object> OnCreateConfig(CreateConfig m)
    {
        for (var attempt = 0; ; attempt++)
        {
            var configs = Configs();
            if (m.ReuseIfSame && configs.FirstOrDefault(c => c.Spec.Name == m.Spec.Name) is { } existing)
            {
                return SecretCommands.ChangedData(SecretCommands.Config, existing.Spec.Name, existing.Spec.Data, m.Spec.Data ?? [], existing.Spec.Templating, m.Spec.Templating) ?? (object)new ConfigCreated(existing.Id);
            }

            var (created, rejected) = SecretCommands.Create(m.Spec, configs, SwarmIds.New(), _manager.Time.GetUtcNow());
            if (created is null)
            {
                return rejected!;
            }

            try
            {
                await _manager.Proposer.ProposeAsync([StoreChange.Create(created)]);
                LogFileObjectChanged(_logger, SecretCommands.Config, created.Id, created.Spec.Name, "created");
                return new ConfigCreated(created.Id);
            }
            catch (StoreConflictException) when (attempt < ConflictRetries)
            {
            }
        }
    }

    private ConfigList OnListConfigs() =>
        new([.. Configs().OrderBy(c => c.Spec.Name, StringComparer.Ordinal).ThenBy(c => c.Id, StringComparer.Ordinal).Select(c => SecretCommands.Summary(c, withData: false))]);

    private object OnInspectConfig(InspectConfig m)
    {
        var (config, rejected) = SecretCommands.Resolve(Configs(), m.ConfigRef);
        return config is null ? rejected! : new ConfigDetails(SecretCommands.Summary(config, withData: true));
    }

    private async Task<object> OnRemoveConfig(RemoveConfig m)
    {
        for (var attempt = 0; ; attempt++)
        {
            var (config, rejected) = SecretCommands.Resolve(Configs(), m.ConfigRef);
            if (config is null)
            {
                return rejected!;
            }

            if (SecretCommands.RemovalProblem(config, Services()) is { } refused)
            {
                return refused;
            }

            try
            {
                await _manager.Proposer.ProposeAsync([StoreChange.Delete(config)]);
                LogFileObjectChanged(_logger, SecretCommands.Config, config.Id, config.Spec.Name, "removed");
                return new ConfigRemoved(config.Id);
            }
            catch (StoreConflictException) when (attempt < ConflictRetries)
            {
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "The {Kind} {Id} ({Name}) was {Change}")]
    private static partial void LogFileObjectChanged(ILogger logger, string kind, string id, string name, string change);
}
