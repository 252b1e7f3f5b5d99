using System.Net.Http.Headers;

namespace ProtoSwarm.Registry.Server;

/// <summary>
/// The other managers' registries, reached over HTTP at their base addresses (in a swarm `https://MANAGER:2377/`, with
/// the manager's own certificate in <paramref name="http"/>'s handler). A fetch asks the peer not to ask its own peers
/// in turn (<see cref="RegistryServer.PeerFetchHeader"/>), so two managers that both lack a blob never ask each other
/// in a loop; a copy (<see cref="CopyAsync"/>) and a sweep are one request per peer, all peers at once.
/// </summary>
public sealed class HttpBlobPeers(Func<IReadOnlyList<Uri>> peers, HttpClient http, TimeProvider? time = null) : IBlobPeers
{
    /// <summary>The wait before a peer that could not hold the blobs yet is asked again; it doubles up to <see cref="MaxCopyRetryDelay"/>.</summary>
    public static readonly TimeSpan FirstCopyRetryDelay = TimeSpan.FromMilliseconds(500);

    public static readonly TimeSpan MaxCopyRetryDelay = TimeSpan.FromSeconds(5);

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public int Count => peers().Count;

    public async Task<bool> FetchAsync(string repository, string digest, Stream destination, CancellationToken ct)
    {
        foreach (var peer in peers())
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(peer, $"v2/{repository}/blobs/{digest}"));
            request.Headers.Add(RegistryServer.PeerFetchHeader, "1");
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/octet-stream"));
            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            }
            catch (Exception e) when (Unreachable(e, ct))
            {
                continue; // that manager is down or cut off: try the next one
            }

            using (response)
            {
                if (!response.IsSuccessStatusCode)
                {
                    continue;
                }

                // Once bytes flow, a failure is the caller's: it discards what was written and checks the digest.
                await using var body = await response.Content.ReadAsStreamAsync(ct);
                await body.CopyToAsync(destination, ct);
                return true;
            }
        }

        return false;
    }

    public async Task<int> CopyAsync(string repository, IReadOnlyList<string> digests, int needed, CancellationToken ct)
    {
        var all = peers();
        if (all.Count == 0 || needed <= 0)
        {
            return 0;
        }

        var body = PeerProtocol.Copy(repository, digests);
        var held = 0;
        var enough = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var asking = CancellationTokenSource.CreateLinkedTokenSource(ct);
        async Task AskAsync(Uri peer)
        {
            var delay = FirstCopyRetryDelay;
            while (!asking.IsCancellationRequested)
            {
                if (await TryCopyAsync(peer, body, digests, asking.Token))
                {
                    if (Interlocked.Increment(ref held) >= needed)
                    {
                        enough.TrySetResult();
                    }

                    return;
                }

                try
                {
                    await Task.Delay(delay, _time, asking.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                delay = delay * 2 < MaxCopyRetryDelay ? delay * 2 : MaxCopyRetryDelay;
            }
        }

        var asks = Task.WhenAll(all.Select(AskAsync));
        await Task.WhenAny(enough.Task, asks);

        // Enough peers hold them: the others' requests are dropped (a fetch one of them started goes on: a peer keeps
        // bytes once they are coming), and their replicators copy the blobs as they copy every linked one.
        await asking.CancelAsync();
        await asks;
        return Volatile.Read(ref held);
    }

    public async Task<int> SweepAsync(TimeSpan grace, IReadOnlyList<string> unlinked, CancellationToken ct)
    {
        var body = PeerProtocol.Sweep(grace, unlinked);
        var swept = await Task.WhenAll(peers().Select(async peer =>
        {
            try
            {
                using var response = await PostAsync(peer, PeerProtocol.SweepPath, body, ct);
                return response.IsSuccessStatusCode;
            }
            catch (Exception e) when (Unreachable(e, ct))
            {
                return false;
            }
        }));
        return swept.Count(s => s);
    }

    /// <summary>One copy request: whether the peer answered that it holds every digest.</summary>
    private async Task<bool> TryCopyAsync(Uri peer, byte[] body, IReadOnlyList<string> digests, CancellationToken ct)
    {
        try
        {
            using var response = await PostAsync(peer, PeerProtocol.CopyPath, body, ct);
            if (!response.IsSuccessStatusCode)
            {
                return false;
            }

            var held = PeerProtocol.ReadHeld(await response.Content.ReadAsByteArrayAsync(ct));
            return digests.All(held.Contains);
        }
        catch (Exception e) when (Unreachable(e, ct) || e is OperationCanceledException)
        {
            return false;
        }
    }

    private async Task<HttpResponseMessage> PostAsync(Uri peer, string path, byte[] body, CancellationToken ct)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return await http.PostAsync(new Uri(peer, "v2/" + path), content, ct);
    }

    /// <summary>The peer is down, cut off, or too slow; not the caller giving up.</summary>
    private static bool Unreachable(Exception e, CancellationToken ct) =>
        e is HttpRequestException or IOException || (e is TaskCanceledException && !ct.IsCancellationRequested);
}
