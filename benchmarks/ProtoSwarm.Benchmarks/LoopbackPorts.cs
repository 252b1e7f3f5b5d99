using System.Net;
using System.Net.Sockets;

namespace ProtoSwarm.Benchmarks;

internal static class LoopbackPorts
{
    /// <summary>
    /// Ports the kernel calls free right now on 127.0.0.1; held together so none repeats, then released
    /// for the caller to bind. Fixed ports collide with another run on the same machine.
    /// </summary>
    public static int[] Free(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        try
        {
            listeners.ForEach(l => l.Start());
            return listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        }
        finally
        {
            listeners.ForEach(l => l.Stop());
        }
    }
}
