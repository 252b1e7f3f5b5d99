using System.Net;
using System.Net.Sockets;

namespace ProtoSwarm.Tests.Contracts;

/// <summary>Loopback ports for tests that start a real listener.</summary>
internal static class TestPorts
{
    /// <summary>A loopback port that was free a moment ago (the kernel's choice for port 0).</summary>
    public static int FreeLoopback()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
