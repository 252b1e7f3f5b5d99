using System.Collections.Immutable;
using ProtoSwarm.Client.Control;
using ProtoSwarm.Client.Services;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Client;

/// <summary>
/// The typed API to a swarm, for any .NET program:
/// <code>
/// await using var swarm = await SwarmClient.ConnectAsync("10.0.0.1:2377", "/root/.protoswarm/client");
/// foreach (var node in await swarm.Nodes.ListAsync()) Console.WriteLine(node.Description.Hostname);
/// </code>
/// Every command carries a fresh request id, so a retried delivery is applied once. A refusal
/// throws <see cref="SwarmCommandException"/> with the swarm's reason.
/// </summary>
public sealed class SwarmClient : IAsyncDisposable
{
    private readonly IRequestChannel _channel;

    public SwarmClient(IRequestChannel channel)
    {
        _channel = channel;
        Nodes = new NodesApi(this);
        Swarm = new SwarmApi(this);
        Services = new ServicesApi(this);
        Networks = new NetworksApi(this);
        Registry = new RegistryApi(this);
        Secrets = new SecretsApi(this);
        Configs = new ConfigsApi(this);
    }

    public static TimeSpan DefaultTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public NodesApi Nodes { get; }

    public SwarmApi Swarm { get; }

    public ServicesApi Services { get; }

    public NetworksApi Networks { get; }

    public RegistryApi Registry { get; }

    public SecretsApi Secrets { get; }

    public ConfigsApi Configs { get; }

    /// <summary>
    /// Connects to a manager over Proto.Remote with mutual TLS (address IP:PORT, e.g. 10.0.0.1:2377), presenting the
    /// client certificate in <paramref name="certificateDir"/> (ca.pem, cert.pem, key.pem; made by
    /// `protoswarm ca issue-client --out DIR` on a manager).
    /// </summary>
    public static async Task<SwarmClient> ConnectAsync(string managerAddr, string certificateDir) =>
        new(await RemoteChannel.ConnectAsync(managerAddr, ClientCertificates.Load(certificateDir)).ConfigureAwait(false));

    /// <summary>Talks to the local node through its control socket (root only).</summary>
    public static SwarmClient ForControlSocket(string? socketPath = null) =>
        new(new ControlChannel(new ControlClient(socketPath ?? ControlClient.DefaultSocketPath())));

    public async Task<TReply> AskAsync<TReply>(object request, TimeSpan? timeout = null, CancellationToken ct = default)
    {
        var reply = await _channel.RequestAsync(request, timeout ?? DefaultTimeout, ct).ConfigureAwait(false);
        return reply switch
        {
            TReply typed => typed,
            CommandRejected rejected => throw new SwarmCommandException(rejected.Code, rejected.Reason),
            _ => throw new SwarmCommandException(RejectCode.Internal,
                $"The swarm answered {reply.GetType().Name} where {typeof(TReply).Name} was expected; are client and node the same version?"),
        };
    }

    public ValueTask DisposeAsync() => _channel.DisposeAsync();

    /// <summary>`node ls / inspect / promote / demote / update / rm`.</summary>
    public sealed class NodesApi
    {
        private readonly SwarmClient _client;

        internal NodesApi(SwarmClient client) => _client = client;

        public async Task<ImmutableArray<NodeObject>> ListAsync(CancellationToken ct = default) =>
            (await _client.AskAsync<NodeList>(new ListNodes(SwarmIds.NewRequestId()), ct: ct).ConfigureAwait(false)).Nodes;

        public async Task<NodeObject> InspectAsync(string nodeRef, CancellationToken ct = default) =>
            (await _client.AskAsync<NodeDetails>(new InspectNode(SwarmIds.NewRequestId(), nodeRef), ct: ct).ConfigureAwait(false)).Node;

        public Task<NodeUpdateAck> PromoteAsync(string nodeRef, CancellationToken ct = default) =>
            _client.AskAsync<NodeUpdateAck>(new PromoteNode(SwarmIds.NewRequestId(), nodeRef), ct: ct);

        public Task<NodeUpdateAck> DemoteAsync(string nodeRef, CancellationToken ct = default) =>
            _client.AskAsync<NodeUpdateAck>(new DemoteNode(SwarmIds.NewRequestId(), nodeRef), ct: ct);

        public Task<NodeUpdateAck> UpdateAsync(
            string nodeRef,
            NodeAvailability? availability = null,
            IReadOnlyDictionary<string, string>? labelsAdd = null,
            IEnumerable<string>? labelsRemove = null,
            NodeRole? role = null,
            CancellationToken ct = default) =>
            _client.AskAsync<NodeUpdateAck>(
                new UpdateNode(
                    SwarmIds.NewRequestId(),
                    nodeRef,
                    availability,
                    (labelsAdd ?? ImmutableSortedDictionary<string, string>.Empty).ToImmutableSortedDictionary(StringComparer.Ordinal),
                    [.. labelsRemove ?? []],
                    role),
                ct: ct);

        public async Task<string> RemoveAsync(string nodeRef, bool force = false, CancellationToken ct = default) =>
            (await _client.AskAsync<RemoveNodeAck>(new RemoveNode(SwarmIds.NewRequestId(), nodeRef, force), ct: ct).ConfigureAwait(false)).NodeId;
    }

    /// <summary>`network create / ls / inspect / rm`: the swarm's overlay networks, named by id, id prefix or name.</summary>
    public sealed class NetworksApi
    {
        private readonly SwarmClient _client;

        internal NetworksApi(SwarmClient client) => _client = client;

        /// <summary>Creates an overlay network; returns its id. Subnet and gateway left empty: the swarm picks a free /24.</summary>
        public async Task<string> CreateAsync(NetworkSpec spec, CancellationToken ct = default) =>
            (await _client.AskAsync<NetworkCreated>(new CreateNetwork(SwarmIds.NewRequestId(), spec), ct: ct).ConfigureAwait(false)).NetworkId;

        public async Task<ImmutableArray<NetworkObject>> ListAsync(CancellationToken ct = default) =>
            (await _client.AskAsync<NetworkList>(new ListNetworks(SwarmIds.NewRequestId()), ct: ct).ConfigureAwait(false)).Networks;

        /// <summary>The networks and the ids of those in use (a service attached, or a task holding an address on it).</summary>
        public Task<NetworkList> ListWithUseAsync(CancellationToken ct = default) =>
            _client.AskAsync<NetworkList>(new ListNetworks(SwarmIds.NewRequestId()), ct: ct);

        public async Task<NetworkObject> InspectAsync(string networkRef, CancellationToken ct = default) =>
            (await _client.AskAsync<NetworkDetails>(new InspectNetwork(SwarmIds.NewRequestId(), networkRef), ct: ct).ConfigureAwait(false)).Network;

        /// <summary>The network and who uses it now (its endpoints, services and the nodes that have it); Usage null when no node needs it.</summary>
        public Task<NetworkDetails> DetailsAsync(string networkRef, CancellationToken ct = default) =>
            _client.AskAsync<NetworkDetails>(new InspectNetwork(SwarmIds.NewRequestId(), networkRef), ct: ct);

        /// <summary>Removes a network no service uses and no task holds an address on; returns its id.</summary>
        public async Task<string> RemoveAsync(string networkRef, CancellationToken ct = default) =>
            (await _client.AskAsync<NetworkRemoved>(new RemoveNetwork(SwarmIds.NewRequestId(), networkRef), ct: ct).ConfigureAwait(false)).NetworkId;
    }

    /// <summary>`secret create / ls / inspect / rm`: named by id, id prefix or name. The data goes in once and never comes back.</summary>
    public sealed class SecretsApi
    {
        private readonly SwarmClient _client;

        internal SecretsApi(SwarmClient client) => _client = client;

        /// <summary>
        /// Creates a secret (a name no other secret has, 1 byte to 500 KiB of data); returns its id. With
        /// <paramref name="reuseIfSame"/>, a secret of that name holding the same data is kept and its id returned.
        /// </summary>
        public async Task<string> CreateAsync(SecretSpec spec, bool reuseIfSame = false, CancellationToken ct = default) =>
            (await _client.AskAsync<SecretCreated>(new CreateSecret(SwarmIds.NewRequestId(), spec, reuseIfSame), ct: ct).ConfigureAwait(false)).SecretId;

        /// <summary>The secrets by name, without their data.</summary>
        public async Task<ImmutableArray<SecretSummary>> ListAsync(CancellationToken ct = default) =>
            (await _client.AskAsync<SecretList>(new ListSecrets(SwarmIds.NewRequestId()), ct: ct).ConfigureAwait(false)).Secrets;

        public async Task<SecretSummary> InspectAsync(string secretRef, CancellationToken ct = default) =>
            (await _client.AskAsync<SecretDetails>(new InspectSecret(SwarmIds.NewRequestId(), secretRef), ct: ct).ConfigureAwait(false)).Secret;

        /// <summary>Removes a secret no service uses; returns its id.</summary>
        public async Task<string> RemoveAsync(string secretRef, CancellationToken ct = default) =>
            (await _client.AskAsync<SecretRemoved>(new RemoveSecret(SwarmIds.NewRequestId(), secretRef), ct: ct).ConfigureAwait(false)).SecretId;
    }

    /// <summary>`config create / ls / inspect / rm`: as secrets, but inspect gives the data back.</summary>
    public sealed class ConfigsApi
    {
        private readonly SwarmClient _client;

        internal ConfigsApi(SwarmClient client) => _client = client;

        /// <summary>Creates a config; <paramref name="reuseIfSame"/> as for secrets.</summary>
        public async Task<string> CreateAsync(ConfigSpec spec, bool reuseIfSame = false, CancellationToken ct = default) =>
            (await _client.AskAsync<ConfigCreated>(new CreateConfig(SwarmIds.NewRequestId(), spec, reuseIfSame), ct: ct).ConfigureAwait(false)).ConfigId;

        /// <summary>The configs by name, without their data.</summary>
        public async Task<ImmutableArray<ConfigSummary>> ListAsync(CancellationToken ct = default) =>
            (await _client.AskAsync<ConfigList>(new ListConfigs(SwarmIds.NewRequestId()), ct: ct).ConfigureAwait(false)).Configs;

        /// <summary>The config with its data.</summary>
        public async Task<ConfigSummary> InspectAsync(string configRef, CancellationToken ct = default) =>
            (await _client.AskAsync<ConfigDetails>(new InspectConfig(SwarmIds.NewRequestId(), configRef), ct: ct).ConfigureAwait(false)).Config;

        /// <summary>Removes a config no service uses; returns its id.</summary>
        public async Task<string> RemoveAsync(string configRef, CancellationToken ct = default) =>
            (await _client.AskAsync<ConfigRemoved>(new RemoveConfig(SwarmIds.NewRequestId(), configRef), ct: ct).ConfigureAwait(false)).ConfigId;
    }

    /// <summary>The swarm's own registry: the tokens of its plain listener (`registry token`) and its repositories (`registry ls`).</summary>
    public sealed class RegistryApi
    {
        private readonly SwarmClient _client;

        internal RegistryApi(SwarmClient client) => _client = client;

        /// <summary>The password of user <paramref name="role"/> (pull or push) on the plain listener; a new one when rotating.</summary>
        public Task<RegistryToken> TokenAsync(string role, bool rotate = false, CancellationToken ct = default) =>
            _client.AskAsync<RegistryToken>(new GetRegistryToken(SwarmIds.NewRequestId(), role, rotate), ct: ct);

        public async Task<ImmutableArray<RepositorySummary>> ListAsync(CancellationToken ct = default) =>
            (await _client.AskAsync<RepositoryList>(new ListRepositories(SwarmIds.NewRequestId()), ct: ct).ConfigureAwait(false)).Repositories;
    }

    /// <summary>The swarm as a whole: join tokens and a summary.</summary>
    public sealed class SwarmApi
    {
        private readonly SwarmClient _client;

        internal SwarmApi(SwarmClient client) => _client = client;

        public Task<JoinTokenInfo> JoinTokenAsync(NodeRole role, bool rotate = false, CancellationToken ct = default) =>
            _client.AskAsync<JoinTokenInfo>(new GetJoinToken(SwarmIds.NewRequestId(), role, rotate), ct: ct);

        /// <summary>Sets how long node certificates are valid (`swarm update --cert-expiry`).</summary>
        public Task<SwarmUpdated> UpdateAsync(TimeSpan? certExpiry = null, CancellationToken ct = default) =>
            _client.AskAsync<SwarmUpdated>(new UpdateSwarm(SwarmIds.NewRequestId(), certExpiry is { } e ? (long)e.TotalSeconds : null), ct: ct);

        public Task<SwarmSummary> SummaryAsync(CancellationToken ct = default) =>
            _client.AskAsync<SwarmSummary>(new GetSwarmSummary(SwarmIds.NewRequestId()), ct: ct);
    }

    /// <summary>
    /// `service create / update / rollback / rm / inspect / ls / ps`, and waiting until a service
    /// converged. A service is named by id, id prefix or name.
    /// </summary>
    public sealed class ServicesApi
    {
        private readonly SwarmClient _client;

        internal ServicesApi(SwarmClient client) => _client = client;

        /// <summary>How often <see cref="WaitConvergedAsync"/> asks (docker's 200 ms).</summary>
        public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(200);

        /// <summary>
        /// How long a converged service must stay so before waiting ends. Null (the default): the
        /// service's monitor period (<see cref="ServiceConvergence.MonitorPeriod"/>), as docker's CLI.
        /// </summary>
        public TimeSpan? StableFor { get; set; }

        public TimeProvider Time { get; set; } = TimeProvider.System;

        public Task<ServiceCreated> CreateAsync(ServiceSpec spec, CancellationToken ct = default) =>
            CreateAsync(spec, ResolveImageModes.Always, ct);

        /// <summary>
        /// Creates a service; <paramref name="resolveImage"/> (<see cref="ResolveImageModes"/>) says whether the
        /// managers pin the image to the digest the swarm's registry holds. Warnings say when they could not.
        /// </summary>
        public Task<ServiceCreated> CreateAsync(ServiceSpec spec, string resolveImage, CancellationToken ct = default) =>
            _client.AskAsync<ServiceCreated>(new CreateService(SwarmIds.NewRequestId(), spec, resolveImage), ct: ct);

        /// <summary>Replaces the spec; <paramref name="version"/> is the service's Meta.Version as read (a stale one is a conflict).</summary>
        public Task<ServiceUpdated> UpdateAsync(string serviceRef, ulong version, ServiceSpec spec, CancellationToken ct = default) =>
            UpdateAsync(serviceRef, version, spec, ResolveImageModes.Changed, ct);

        /// <summary>Replaces the spec, pinning its image per <paramref name="resolveImage"/> (default changed: only a changed image).</summary>
        public Task<ServiceUpdated> UpdateAsync(string serviceRef, ulong version, ServiceSpec spec, string resolveImage, CancellationToken ct = default) =>
            _client.AskAsync<ServiceUpdated>(new UpdateService(SwarmIds.NewRequestId(), serviceRef, version, spec, ResolveImage: resolveImage), ct: ct);

        /// <summary>Returns the service to its previous spec.</summary>
        public Task<ServiceUpdated> RollbackAsync(string serviceRef, ulong version, CancellationToken ct = default) =>
            _client.AskAsync<ServiceUpdated>(new UpdateService(SwarmIds.NewRequestId(), serviceRef, version, null, Rollback: true), ct: ct);

        public async Task<string> RemoveAsync(string serviceRef, CancellationToken ct = default) =>
            (await _client.AskAsync<ServiceRemoved>(new RemoveService(SwarmIds.NewRequestId(), serviceRef), ct: ct).ConfigureAwait(false)).ServiceId;

        public Task<ServiceDetails> InspectAsync(string serviceRef, CancellationToken ct = default) =>
            _client.AskAsync<ServiceDetails>(new InspectService(SwarmIds.NewRequestId(), serviceRef), ct: ct);

        public async Task<ImmutableArray<ServiceSummary>> ListAsync(CancellationToken ct = default) =>
            (await _client.AskAsync<ServiceList>(new ListServices(SwarmIds.NewRequestId()), ct: ct).ConfigureAwait(false)).Services;

        /// <summary>The tasks of some services and/or nodes (none given: every task), with service and node names.</summary>
        public Task<TaskList> TasksAsync(IEnumerable<string>? serviceRefs = null, IEnumerable<string>? nodeRefs = null, CancellationToken ct = default) =>
            _client.AskAsync<TaskList>(new ListTasks(SwarmIds.NewRequestId(), [.. serviceRefs ?? []], [.. nodeRefs ?? []]), ct: ct);

        /// <summary>The tasks of these services by whole id, which need not exist any more: a removed service's tasks stay listed until they have stopped.</summary>
        public Task<TaskList> TasksOfServiceIdsAsync(IEnumerable<string> serviceIds, CancellationToken ct = default) =>
            _client.AskAsync<TaskList>(new ListTasks(SwarmIds.NewRequestId(), ServiceIds: [.. serviceIds]), ct: ct);

        /// <summary>
        /// The CPU %, memory and processes of these tasks' containers now (`service ps --stats`), asked of
        /// their nodes; only running tasks have any. Nodes that are down or do not answer within 3 s are
        /// named in the answer's Warnings.
        /// </summary>
        public Task<TaskUsageList> UsageAsync(IEnumerable<string> taskIds, CancellationToken ct = default) =>
            _client.AskAsync<TaskUsageList>(new GetTaskUsage(SwarmIds.NewRequestId(), [.. taskIds]), ct: ct);

        /// <summary>How often a follow asks for newer lines (`service logs -f`: pass each answer's Cursors back as after).</summary>
        public TimeSpan LogPollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

        /// <summary>
        /// `service logs`: the lines of a service's tasks (ended ones included) or of one task, merged by
        /// time. <paramref name="tail"/>: the last N lines of each task (null: all the nodes keep);
        /// <paramref name="after"/>: a previous answer's Cursors, for only the lines since;
        /// <paramref name="since"/>: only lines stamped then or later. Nodes that are down or do not
        /// answer within 5 s, and logs a node could not read, are named in the answer's Warnings. The answer is
        /// one page (about 1 MiB at most): while its More is set, ask again with its Cursors as after, no tail
        /// and the same since.
        /// </summary>
        public Task<ServiceLogs> LogsAsync(
            string serviceOrTaskRef,
            int? tail = null,
            IReadOnlyDictionary<string, long>? after = null,
            DateTimeOffset? since = null,
            CancellationToken ct = default) =>
            _client.AskAsync<ServiceLogs>(
                new GetServiceLogs(SwarmIds.NewRequestId(), serviceOrTaskRef, tail,
                    (after ?? ImmutableSortedDictionary<string, long>.Empty).ToImmutableSortedDictionary(StringComparer.Ordinal), since),
                ct: ct);

        /// <summary>
        /// Polls the service and its tasks every <see cref="PollInterval"/> and reports each look
        /// until the service converged and stayed so for <see cref="StableFor"/> (or converged as far as
        /// its tasks that ended for good let it, <see cref="ConvergenceState.TasksEnded"/>: at once when
        /// none is left running), a job completed, an update or rollback paused, or the managers
        /// completed one though tasks still do not run.
        /// Returns the last progress; its State says which.
        /// Cancelling stops the waiting only; the swarm goes on.
        /// </summary>
        public Task<ServiceProgress> WaitConvergedAsync(string serviceId, IProgress<ServiceProgress>? progress = null, CancellationToken ct = default) =>
            WaitConvergedAsync(serviceId, rollbackRequested: false, progress, ct);

        /// <summary>
        /// As <see cref="WaitConvergedAsync(string, IProgress{ServiceProgress}?, CancellationToken)"/>; after a
        /// rollback the caller asked for (<paramref name="rollbackRequested"/>), its completion before every task
        /// runs does not end the wait: the rollback is what was wanted, so its tasks are waited for, as docker's CLI does.
        /// </summary>
        public async Task<ServiceProgress> WaitConvergedAsync(string serviceId, bool rollbackRequested, IProgress<ServiceProgress>? progress = null, CancellationToken ct = default)
        {
            DateTimeOffset? convergedAt = null;
            var failureDetected = false;
            while (true)
            {
                var details = await InspectAsync(serviceId, ct).ConfigureAwait(false);
                var tasks = await TasksAsync([details.Service.Id], ct: ct).ConfigureAwait(false);
                var down = await DownNodesAsync(ct).ConfigureAwait(false);
                var now = Time.GetUtcNow();
                var look = ServiceConvergence.Evaluate(details.Service, details.Replicas, tasks.Tasks, down);
                if (look.IsConverged)
                {
                    convergedAt ??= now;
                    failureDetected = false;
                    // Every task ended for good: nothing is left running that could still fail, so there is nothing to watch.
                    var remaining = look.State == ConvergenceState.TasksEnded && look.Done == 0
                        ? TimeSpan.Zero
                        : (StableFor ?? ServiceConvergence.MonitorPeriod(details.Service)) - (now - convergedAt.Value);
                    look = remaining <= TimeSpan.Zero ? look with { Verified = true } : look with { VerifyRemaining = remaining };
                }
                else
                {
                    // Docker says so once a task fails during the verification, and the line stays until it converges again.
                    failureDetected |= convergedAt is not null;
                    convergedAt = null;
                    look = look with { FailureDetected = failureDetected };
                }

                progress?.Report(look);
                if (look.IsFinal && !(rollbackRequested && look.State == ConvergenceState.RollbackCompleted))
                {
                    return look;
                }

                await Task.Delay(PollInterval, Time, ct).ConfigureAwait(false);
            }
        }

        /// <summary>
        /// The ids of the nodes that are down, asked at each look as docker's CLI asks for the active
        /// nodes: their tasks are left out of the progress (<see cref="ServiceConvergence.Evaluate"/>).
        /// </summary>
        private async Task<IReadOnlySet<string>> DownNodesAsync(CancellationToken ct) =>
            (await _client.Nodes.ListAsync(ct).ConfigureAwait(false))
                .Where(n => n.Status?.State == NodeState.Down)
                .Select(n => n.Id)
                .ToHashSet(StringComparer.Ordinal);
    }
}
