using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace VotingApp;

/// <summary>The images' health check, so they need no curl: `voting probe [PORT]` asks the local /healthz.</summary>
public static class Probe
{
    public static async Task<int> RunAsync(string[] args)
    {
        var port = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : Settings.Port;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        try
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync("127.0.0.1", port, timeout.Token);
            var stream = tcp.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes("GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n"), timeout.Token);
            using var reader = new StreamReader(stream, Encoding.ASCII);
            var status = await reader.ReadLineAsync(timeout.Token) ?? "";
            Console.WriteLine(status);
            return status.Split(' ') is [_, "200", ..] ? 0 : 1;
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
        {
            Console.WriteLine($"127.0.0.1:{port}/healthz: {e.Message}");
            return 1;
        }
    }
}
