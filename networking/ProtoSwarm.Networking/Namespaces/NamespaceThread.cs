using System.Collections.Concurrent;
using ProtoSwarm.Networking.Interop;

namespace ProtoSwarm.Networking.Namespaces;

/// <summary>
/// A dedicated thread (never a pool thread: a namespace is a property of the thread) that enters a
/// network namespace with setns and runs queued work there, one item at a time. Sockets made by that
/// work, netlink ones included, belong to the namespace for good, whichever thread uses them later.
/// With no path the thread stays in the process's namespace and only serialises the work.
/// </summary>
public sealed class NamespaceThread : INamespaceRunner, IDisposable
{
    private readonly BlockingCollection<Action> _work = [];
    private readonly Thread _thread;
    private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public NamespaceThread(string? netnsPath, string? name = null)
    {
        NamespacePath = netnsPath;
        _thread = new Thread(() => Loop(netnsPath)) { Name = name ?? $"netns {netnsPath ?? "host"}", IsBackground = true };
        _thread.Start();
        // Fails here, not at the first work item, when the namespace cannot be entered.
        _entered.Task.GetAwaiter().GetResult();
    }

    /// <summary>The namespace file the thread entered; null for the process's own namespace.</summary>
    public string? NamespacePath { get; }

    public Task<T> RunAsync<T>(Func<T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        void Item()
        {
            try
            {
                done.SetResult(work());
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        }
        if (!_work.TryAdd(Item))
        {
            done.SetException(new ObjectDisposedException(nameof(NamespaceThread)));
        }
        return done.Task;
    }

    public Task RunAsync(Action work) => RunAsync(() =>
    {
        work();
        return true;
    });

    /// <summary>Runs the queued work, then ends the thread (and with it its hold on the namespace).</summary>
    public void Dispose()
    {
        if (!_work.IsAddingCompleted)
        {
            _work.CompleteAdding();
            if (Thread.CurrentThread != _thread)
            {
                _thread.Join();
            }
        }
    }

    private void Loop(string? netnsPath)
    {
        try
        {
            if (netnsPath is not null)
            {
                using var ns = NetworkNamespace.Open(netnsPath);
                Libc.Check(Libc.setns((int)ns.DangerousGetHandle(), Libc.CLONE_NEWNET), $"setns {netnsPath}");
            }
        }
        catch (Exception e)
        {
            _work.CompleteAdding();
            _entered.SetException(e);
            return;
        }
        _entered.SetResult();
        foreach (var item in _work.GetConsumingEnumerable())
        {
            item();
        }
    }
}
