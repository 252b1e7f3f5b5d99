using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Hosting.Runtime;

/// <summary>
/// `network connect` and `network disconnect` of a standalone container, as docker's: the same attachment a run's --network
/// asks the managers for (<see cref="INetworkAttacher"/>), and the same interface, DNS and rules a task's network gets in its
/// namespace (<see cref="NodeNetworks.ConnectTaskAsync"/>, under the node's network gate). A container whose namespace is
/// here (running, or created) joins at once; an ended one keeps the network in its record and joins it at its next start,
/// as docker's daemon does. Each change is made under the container's gate, so it never meets a start, stop or rm halfway.
/// </summary>
internal sealed partial class StandaloneContainers
{

    private async Task<object> ConnectAsync(ConnectContainerNetwork request, CancellationToken ct)
    {
        var (entry, refusal) = Standalone(request.Container, request.Network, connect: true);
        if (entry is null)
        {
            return refusal!;
        }

        var attacher = _attacher() ?? throw new ContainerRefusal(RejectCode.NotFound,
            $"network {request.Network} not found: this node is in no swarm, and a standalone container joins only the swarm's attachable overlays; join a swarm first");
        await entry.Gate.WaitAsync(ct);
        try
        {
            var live = Live(entry);
            var asked = new ContainerNetworkRequest(request.Network, entry.Task.Id, entry.Name, request.Aliases, request.Address);
            var attachment = await AttachOrRefuseAsync(attacher, asked, ct);
            if (entry.Task.Spec.Networks.Any(n => n.Target == attachment.Network.NetworkId))
            {
                // An ended container's record names it already (the managers hold no attachment for it while it is stopped).
                await GiveBackAsync(attacher, entry, attachment);
                throw new ContainerRefusal(RejectCode.Conflict, $"endpoint with name {entry.Name} already exists in network {request.Network}");
            }

            var recorded = new NetworkAttachment(attachment.Network.NetworkId, request.Aliases, request.Address.Length > 0 ? [request.Address] : []);
            if (!attachment.Network.NetworkId.StartsWith(request.Network, StringComparison.Ordinal))
            {
                entry.NetworkNames = entry.NetworkNames.SetItem(attachment.Network.NetworkId, request.Network);
            }

            if (!live)
            {
                // docker records the network of a stopped container and joins it at its start: the address is asked for again then.
                await GiveBackAsync(attacher, entry, attachment);
                entry.Task = entry.Task with { Spec = entry.Task.Spec with { Networks = Recorded(entry.Task.Spec.Networks, recorded) } };
                await WriteRecordAsync(entry, ct);
                return new ContainerChange(request.Container, string.Empty);
            }

            string? resolvConf;
            try
            {
                resolvConf = await Networks().ConnectTaskAsync(entry.Task, attachment.Network, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                await Networks().DisconnectTaskAsync(entry.Task.Id, attachment.Network.NetworkId, CancellationToken.None);
                await GiveBackAsync(attacher, entry, attachment);
                throw new ContainerRefusal(RejectCode.Internal,
                    $"could not attach container {entry.Name} to network {request.Network}: {e.Message}; see protoswarmd's log");
            }

            entry.Attachments = entry.Attachments.Add(attachment);
            entry.Task = entry.Task with
            {
                Spec = entry.Task.Spec with { Networks = Recorded(entry.Task.Spec.Networks, recorded) },
                Networks = entry.Task.Networks.Add(attachment.Network),
            };
            _executor.Retask(entry.Task);
            await WriteRecordAsync(entry, ct);
            if (resolvConf is not null && !entry.Started)
            {
                entry.PendingResolvConf = resolvConf;
            }
            else if (resolvConf is not null)
            {
                GiveResolvConf(entry, resolvConf);
            }

            // docker's daemon maps the container's hostname to its new address in its /etc/hosts.
            HostsChange(entry, add: true, attachment.Network.Address);

            LogConnected(_logger, entry.Task.Id, entry.Name, attachment.Network.NetworkId, attachment.Network.Address);
            return new ContainerChange(request.Container, string.Empty);
        }
        finally
        {
            entry.Gate.Release();
        }
    }

    /// <summary>
    /// The networks of a container's record once it joined <paramref name="joining"/>: a container on the bridge (run without
    /// --network, a record naming none) keeps the bridge first, named, as docker's container keeps its default bridge endpoint,
    /// so it comes back on both (eth0 on the bridge, shown as such) at its next start and after a node host restart.
    /// </summary>
    internal static ImmutableArray<NetworkAttachment> Recorded(ImmutableArray<NetworkAttachment> networks, NetworkAttachment joining) =>
        networks.IsEmpty ? [new NetworkAttachment(PredefinedNetworks.Bridge), joining] : networks.Add(joining);

    private async Task<object> DisconnectAsync(DisconnectContainerNetwork request, CancellationToken ct)
    {
        var (entry, refusal) = Standalone(request.Container, request.Network, connect: false);
        if (entry is null)
        {
            return refusal!;
        }

        await entry.Gate.WaitAsync(ct);
        try
        {
            var targets = entry.Task.Spec.Networks.Select(n => n.Target).Where(t => !PredefinedNetworks.IsLocal(t)).ToList();
            var networkId = NetworkIdOf(targets, request.Network, id => _executor.Networks?.NameOf(id) ?? entry.NetworkNames.GetValueOrDefault(id));
            if (networkId is null)
            {
                throw new ContainerRefusal(RejectCode.NotFound, $"container {entry.Name} is not connected to network {request.Network}");
            }

            // The node lets go first (interface, DNS, rules), then the managers free the address, as a task's release.
            if (Live(entry))
            {
                await Networks().DisconnectTaskAsync(entry.Task.Id, networkId, ct);
                if (entry.Task.Networks.FirstOrDefault(n => n.NetworkId == networkId) is { } left)
                {
                    HostsChange(entry, add: false, left.Address);
                }
            }

            var attachment = entry.Attachments.FirstOrDefault(a => a.Network.NetworkId == networkId);
            if (attachment is not null)
            {
                entry.Attachments = entry.Attachments.Remove(attachment);
                if (_attacher() is { } attacher)
                {
                    await GiveBackAsync(attacher, entry, attachment);
                }
            }

            entry.Task = entry.Task with
            {
                Spec = entry.Task.Spec with { Networks = [.. entry.Task.Spec.Networks.Where(n => n.Target != networkId)] },
                Networks = [.. entry.Task.Networks.Where(n => n.NetworkId != networkId)],
            };
            _executor.Retask(entry.Task);
            await WriteRecordAsync(entry, ct);
            LogDisconnected(_logger, entry.Task.Id, entry.Name, networkId);
            return new ContainerChange(request.Container, string.Empty);
        }
        finally
        {
            entry.Gate.Release();
        }
    }

    /// <summary>
    /// Its networks' names, one "ID NAME" a line beside its record (`ID.networks`): those it knew, and those the node's views name
    /// now (a run's --network), for a `disconnect NAME` once it ended, when nothing on the node may be on the network any more.
    /// </summary>
    private async Task WriteNetworkNamesAsync(Entry entry, string recordPath, CancellationToken ct)
    {
        var ids = entry.Task.Spec.Networks.Select(n => n.Target).ToHashSet(StringComparer.Ordinal);
        var names = entry.NetworkNames.Where(n => ids.Contains(n.Key)).ToImmutableDictionary();
        foreach (var id in ids.Where(id => !names.ContainsKey(id)))
        {
            if (_executor.Networks?.NameOf(id) is { } name)
            {
                names = names.SetItem(id, name);
            }
        }

        entry.NetworkNames = names;
        var path = Path.ChangeExtension(recordPath, ".networks");
        if (names.IsEmpty)
        {
            File.Delete(path);
            return;
        }

        await File.WriteAllLinesAsync(path, names.Select(n => $"{n.Key} {n.Value}"), ct);
    }

    private static async Task<ImmutableDictionary<string, string>> ReadNetworkNamesAsync(string path, CancellationToken ct) =>
        File.Exists(path)
            ? (await File.ReadAllLinesAsync(path, ct)).Select(l => l.Split(' ', 2)).Where(p => p.Length == 2).ToImmutableDictionary(p => p[0], p => p[1])
            : ImmutableDictionary<string, string>.Empty;

    /// <summary>The standalone container a connect or disconnect names, or docker's refusal: no such container, a task's, host or none,
    /// or a container on host or none connected to any other network.</summary>
    private (Entry? Entry, CommandRejected? Refusal) Standalone(string container, string network, bool connect)
    {
        var (id, error) = Resolve(container);
        if (error is not null)
        {
            return (null, new CommandRejected(RejectCode.NotFound, error));
        }

        // A container is run on host or none, never connected to or disconnected from them (docker's words).
        if (PredefinedNetworks.IsMode(network))
        {
            return (null, new CommandRejected(RejectCode.InvalidArgument,
                $"container cannot be disconnected from {network} network or connected to {network} network"));
        }

        if (!_entries.TryGetValue(id!, out var entry))
        {
            var service = _executor.Kept.FirstOrDefault(k => k.Id == id).Task is { } task && task.ServiceName.Length > 0 ? task.ServiceName : "SERVICE";
            return (null, new CommandRejected(RejectCode.PermissionDenied, connect
                ? $"container {DisplayName(id!)} is a task of service {service}: its networks are its service's; use `protoswarm service update --network-add {network} {service}`"
                : $"container {DisplayName(id!)} is a task of service {service}: its networks are its service's; use `protoswarm service update --network-rm {network} {service}`"));
        }

        if (connect && PredefinedNetworks.ModeOf(entry.Task.Spec.Networks) is { } mode)
        {
            return (null, new CommandRejected(RejectCode.InvalidArgument, mode == PredefinedNetworks.Host
                ? $"container sharing network namespace with another container or host cannot be connected to any other network: {entry.Name} runs on the host network; run it again without --network host to connect it"
                : $"container cannot be connected to multiple networks with one of the networks in private (none) mode: {entry.Name} runs on none; run it again without --network none to connect it"));
        }

        if (network == "bridge")
        {
            return (null, new CommandRejected(RejectCode.InvalidArgument, (entry.Task.Spec.Networks.IsEmpty || PredefinedNetworks.OnBridge(entry.Task.Spec.Networks)) && connect
                ? $"endpoint with name {entry.Name} already exists in network bridge"
                : $"network bridge: a standalone container is on its node's bridge when run without --network, and only then; connect it to an attachable overlay instead"));
        }

        return (entry, null);
    }

    /// <summary>The managers' attachment, or their refusal (no such network, not attachable, already connected, --ip) as the command's.</summary>
    private static async Task<ContainerAttachment> AttachOrRefuseAsync(INetworkAttacher attacher, ContainerNetworkRequest request, CancellationToken ct)
    {
        try
        {
            return await attacher.AttachAsync(request, ct);
        }
        catch (InvalidOperationException e)
        {
            throw new ContainerRefusal(e.Message.Contains("not found", StringComparison.Ordinal) ? RejectCode.NotFound : RejectCode.Conflict, e.Message);
        }
    }

    /// <summary>Its namespace is here: it runs, or it was created and not started yet (create prepared it).</summary>
    private bool Live(Entry entry) => !entry.Started || _executor.ContainerOf(entry.Task.Id) is { HasExited: false };

    private NodeNetworks Networks() => _executor.Networks
        ?? throw new ContainerRefusal(RejectCode.Unavailable, "this node has no overlay networking (it is in no swarm); join a swarm first");

    /// <summary>
    /// The network of a container's record that <paramref name="reference"/> names, as docker resolves one: its id, its name
    /// (<paramref name="nameOf"/>: the node's views), then a unique id prefix; null when none.
    /// </summary>
    internal static string? NetworkIdOf(IReadOnlyList<string> networkIds, string reference, Func<string, string?> nameOf)
    {
        if (reference.Length == 0)
        {
            return null;
        }

        return networkIds.FirstOrDefault(id => id == reference)
            ?? networkIds.FirstOrDefault(id => nameOf(id) == reference)
            ?? (networkIds.Where(id => id.StartsWith(reference, StringComparison.Ordinal)).ToList() is [var one] ? one : null);
    }

    /// <summary>
    /// A container on the bridge only that joined its first overlay now has the embedded DNS server: its resolv.conf names it,
    /// as docker's daemon rewrites it when the resolver starts. Written through the container's root as its process sees it (a
    /// created container's once it starts, which may already have read the first); a resolv.conf that is a link is left alone.
    /// </summary>
    private void GiveResolvConf(Entry entry, string resolvConf)
    {
        if (_executor.ContainerOf(entry.Task.Id) is not { HasExited: false, Pid: > 0 } container)
        {
            return;
        }

        var path = $"/proc/{container.Pid}/root/etc/resolv.conf";
        try
        {
            if (File.Exists(path) && new FileInfo(path).LinkTarget is null)
            {
                File.WriteAllText(path, resolvConf);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogResolvConfFailed(_logger, entry.Task.Id, e);
        }
    }

    /// <summary>
    /// Adds or removes the line mapping the container's hostname to <paramref name="address"/> (CIDR) in its /etc/hosts, as docker's
    /// daemon does at connect and disconnect: at once for a started container, at its start for a created one.
    /// </summary>
    private void HostsChange(Entry entry, bool add, string address)
    {
        var ip = address.Split('/')[0];
        if (entry.Started)
        {
            ChangeHosts(entry, add, ip);
        }
        else
        {
            entry.PendingHosts = entry.PendingHosts.Add((add, ip));
        }
    }

    /// <summary>
    /// The change written through the container's root as its process sees it, when the file is ours: not when the container
    /// mounts its own /etc/hosts or the file is a link (docker leaves a hosts file it did not make alone too).
    /// </summary>
    private void ChangeHosts(Entry entry, bool add, string ip)
    {
        if (_executor.ContainerOf(entry.Task.Id) is not { HasExited: false, Pid: > 0 } container
            || entry.Task.Spec.Container.Mounts.Any(m => "/" + m.Target.Trim('/') == "/etc/hosts"))
        {
            return;
        }

        var path = $"/proc/{container.Pid}/root/etc/hosts";
        try
        {
            if (File.Exists(path) && new FileInfo(path).LinkTarget is null)
            {
                var hostname = TaskContainers.Hostname(entry.Task);
                var content = File.ReadAllText(path);
                File.WriteAllText(path, add ? EtcHosts.Add(content, ip, hostname) : EtcHosts.Remove(content, ip, hostname));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogHostsFailed(_logger, entry.Task.Id, ip, e);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "container {Id}: its /etc/hosts could not be changed for address {Address}; its hostname does not map to it there")]
    private static partial void LogHostsFailed(ILogger logger, string id, string address, Exception e);

    [LoggerMessage(Level = LogLevel.Information, Message = "container {Id} ({Name}) connected to network {NetworkId} at {Address}")]
    private static partial void LogConnected(ILogger logger, string id, string name, string networkId, string address);

    [LoggerMessage(Level = LogLevel.Information, Message = "container {Id} ({Name}) disconnected from network {NetworkId}")]
    private static partial void LogDisconnected(ILogger logger, string id, string name, string networkId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "container {Id}: its resolv.conf could not be given the embedded DNS server; it resolves with the node's resolvers")]
    private static partial void LogResolvConfFailed(ILogger logger, string id, Exception e);
}
