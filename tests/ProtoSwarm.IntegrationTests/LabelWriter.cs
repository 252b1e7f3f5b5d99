using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using ProtoSwarm.Client;
using ProtoSwarm.Client.Control;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.IntegrationTests;

/// <summary>
/// A steady write load: `node update --label-add &lt;prefix&gt;&lt;i&gt;=v&lt;i&gt; NODE`, one write at a
/// time, through the control socket of one manager after another (it moves on when a write fails).
/// Every write the swarm acknowledged is recorded with when, so a test can check none was lost.
/// </summary>
public sealed class LabelWriter : IAsyncDisposable
{
    private readonly string _nodeRef;
    private readonly string _prefix;
    private readonly TimeSpan _attemptTimeout;
    private readonly TimeSpan _pace;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<Write> _acknowledged = new();
    private readonly ConcurrentQueue<Write> _failed = new();
    private readonly Stopwatch _clock;
    private volatile IReadOnlyList<string> _sockets;
    private Task? _loop;

    public LabelWriter(Stopwatch clock, IReadOnlyList<string> sockets, string nodeRef, string prefix, TimeSpan attemptTimeout, TimeSpan pace)
    {
        _clock = clock;
        _sockets = sockets;
        _nodeRef = nodeRef;
        _prefix = prefix;
        _attemptTimeout = attemptTimeout;
        _pace = pace;
    }

    /// <summary>One write: its label, when it was sent and when it was answered (on the shared clock).</summary>
    public sealed record Write(int Number, string Key, string Value, TimeSpan Sent, TimeSpan Answered, string Socket, string Error);

    public IReadOnlyList<Write> Acknowledged => [.. _acknowledged];

    public IReadOnlyList<Write> Failed => [.. _failed];

    /// <summary>The managers to write through from the next write on.</summary>
    public IReadOnlyList<string> Sockets
    {
        get => _sockets;
        set => _sockets = value;
    }

    public void Start() => _loop = Task.Run(() => RunAsync(_stop.Token));

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }
    }

    /// <summary>Waits until at least <paramref name="count"/> writes sent after <paramref name="since"/> are acknowledged.</summary>
    public async Task<bool> WaitForAcknowledgedAsync(int count, TimeSpan since, TimeSpan limit)
    {
        var until = _clock.Elapsed + limit;
        while (_clock.Elapsed < until)
        {
            if (_acknowledged.Count(w => w.Sent >= since) >= count)
            {
                return true;
            }

            await Task.Delay(50);
        }

        return false;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken ct)
    {
        var target = 0;
        for (var i = 1; !ct.IsCancellationRequested; i++)
        {
            var sockets = _sockets;
            var socket = sockets[target % sockets.Count];
            var key = string.Create(CultureInfo.InvariantCulture, $"{_prefix}{i}");
            var value = string.Create(CultureInfo.InvariantCulture, $"v{i}");
            var sent = _clock.Elapsed;
            try
            {
                var update = new UpdateNode(Guid.NewGuid().ToString("N"), _nodeRef, null,
                    ImmutableSortedDictionary<string, string>.Empty.Add(key, value), []);
                await new ControlClient(socket).RequestAsync<NodeUpdateAck>(update, _attemptTimeout, ct);
                _acknowledged.Enqueue(new Write(i, key, value, sent, _clock.Elapsed, socket, string.Empty));
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (SwarmCommandException e)
            {
                _failed.Enqueue(new Write(i, key, value, sent, _clock.Elapsed, socket, e.Message));
                target++;
            }

            try
            {
                await Task.Delay(_pace, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
