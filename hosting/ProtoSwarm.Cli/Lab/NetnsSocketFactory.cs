using System.Collections.Concurrent;
using System.Net.Sockets;
using Microsoft.Win32.SafeHandles;
using ProtoSwarm.Cli.Lab.Interop;

namespace ProtoSwarm.Cli.Lab;

/// <summary>
/// Creates TCP sockets inside other network namespaces from ONE dedicated thread: per request it
/// enters the target namespace with setns, creates the socket and goes back to the namespace it
/// started in. A socket keeps the namespace it was created in for good, so connecting and copying
/// then run on any thread, and no thread-pool thread ever changes namespace. Namespace files are
/// opened per request and closed at once, so a forwarder never keeps a deleted lab's namespace alive.
/// </summary>
internal sealed class NetnsSocketFactory : IDisposable
{
    private readonly BlockingCollection<Request> _requests = [];
    private readonly Thread _thread;

    public NetnsSocketFactory()
    {
        _thread = new Thread(Loop) { Name = "lab forward: netns sockets", IsBackground = true };
        _thread.Start();
    }

    /// <summary>A new, unconnected TCP socket that lives in the namespace at <paramref name="netnsPath"/>.</summary>
    public Task<Socket> CreateAsync(string netnsPath, AddressFamily family)
    {
        var request = new Request(netnsPath, family, new TaskCompletionSource<Socket>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_requests.TryAdd(request))
        {
            request.Done.SetException(new ObjectDisposedException(nameof(NetnsSocketFactory)));
        }

        return request.Done.Task;
    }

    public void Dispose()
    {
        if (!_requests.IsAddingCompleted)
        {
            _requests.CompleteAdding();
            _thread.Join();
        }

        _requests.Dispose();
    }

    private void Loop()
    {
        // This thread's namespace now: the process's own, where the listeners are.
        using var home = File.OpenHandle("/proc/thread-self/ns/net");
        foreach (var request in _requests.GetConsumingEnumerable())
        {
            try
            {
                request.Done.SetResult(CreateIn(request, home));
            }
            catch (Exception e)
            {
                request.Done.SetException(e);
            }
        }
    }

    private static Socket CreateIn(Request request, SafeFileHandle home)
    {
        using (var target = OpenNamespace(request.NetnsPath))
        {
            Enter(target, request.NetnsPath);
        }

        // Every request enters its own target first, so a thread left elsewhere could not misplace
        // a socket; still, going back is checked, rather than running on in a lab's namespace.
        Socket socket;
        try
        {
            socket = new Socket(request.Family, SocketType.Stream, ProtocolType.Tcp);
        }
        catch
        {
            Enter(home, "this process's own network namespace");
            throw;
        }

        try
        {
            Enter(home, "this process's own network namespace");
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return socket;
    }

    private static SafeFileHandle OpenNamespace(string path)
    {
        try
        {
            return File.OpenHandle(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LabException($"Cannot open the network namespace {path}: {e.Message}; is the lab still up (`protoswarm lab ls`)?", e);
        }
    }

    private static void Enter(SafeFileHandle ns, string what)
    {
        if (Libc.setns((int)ns.DangerousGetHandle(), Libc.CLONE_NEWNET) == -1)
        {
            var errno = Libc.LastError;
            throw new LabException($"setns into {what} failed: {Libc.StrError(errno)} (errno {errno}); `lab forward` needs root (CAP_SYS_ADMIN).");
        }
    }

    private sealed record Request(string NetnsPath, AddressFamily Family, TaskCompletionSource<Socket> Done);
}
