using Microsoft.Extensions.Logging;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Actors.Managers;

/// <summary>`registry token pull|push [--rotate]` and `registry ls`: the swarm registry's tokens and repositories.</summary>
public sealed partial class ManagerApiActor
{
    /// <summary>
    /// The role's token; a new one when asked to rotate, or when the swarm has none yet (made before the
    /// registry). Plain reads come through the queries worker while commands may write the cluster object,
    /// so the write is conditional and, on a conflict, the decision is made again on what is stored.
    /// </summary>
    private async Task<object> OnGetRegistryToken(GetRegistryToken m)
    {
        if (!RegistryTokens.IsRole(m.Role))
        {
            return new CommandRejected(RejectCode.InvalidArgument,
                $"'{m.Role}' is not a registry role; use {RegistryTokens.Pull} (read only) or {RegistryTokens.Push} (read and write).");
        }

        for (var attempt = 0; ; attempt++)
        {
            if (Cluster() is not { } cluster)
            {
                return NoClusterRecord();
            }

            var token = RegistryTokens.Of(cluster, m.Role);
            if (!m.Rotate && token.Length > 0)
            {
                return new RegistryToken(m.Role, token);
            }

            token = RegistryTokens.New();
            try
            {
                await _manager.Proposer.ProposeAsync([StoreChange.Update(RegistryTokens.With(cluster, m.Role, token))]);
                LogRegistryTokenSet(_logger, m.Role, m.Rotate ? "rotated" : "created");
                return new RegistryToken(m.Role, token);
            }
            catch (StoreConflictException) when (attempt < ConflictRetries)
            {
                // Another write to the cluster object (a join token, a token made by a concurrent read) came first.
            }
            catch (StoreConflictException)
            {
                return new CommandRejected(RejectCode.Conflict, "The swarm's settings kept changing while the registry token was written; try again.");
            }
        }
    }

    private RepositoryList OnListRepositories() =>
        new([.. State.List<RepositoryObject>()
            .OrderBy(r => r.Id, StringComparer.Ordinal)
            .Select(r => new RepositorySummary(r.Id, r.Tags, r.Manifests.Count, r.Blobs.Values.Sum()))]);

    [LoggerMessage(Level = LogLevel.Information, Message = "The registry's {Role} token was {Change}")]
    private static partial void LogRegistryTokenSet(ILogger logger, string role, string change);
}
