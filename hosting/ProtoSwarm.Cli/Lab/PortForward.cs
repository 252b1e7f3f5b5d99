using System.Globalization;

namespace ProtoSwarm.Cli.Lab;

/// <summary>One `lab forward` argument: PORT (the same port on the nodes) or PORT:NODEPORT.</summary>
internal sealed record PortForward(int ListenPort, int NodePort)
{
    public static PortForward Parse(string text)
    {
        var parts = text.Split(':');
        if (parts.Length > 2 || parts.Any(p => p.Length == 0))
        {
            throw new LabException($"'{text}' is not a port to forward; write PORT or PORT:NODEPORT, e.g. `8080` or `8080:80`.");
        }

        var listen = Port(parts[0], text, "PORT");
        return new PortForward(listen, parts.Length == 2 ? Port(parts[1], text, "NODEPORT") : listen);
    }

    /// <summary>Every argument parsed; at least one, and no local port twice.</summary>
    public static IReadOnlyList<PortForward> ParseAll(IReadOnlyList<string> texts)
    {
        if (texts.Count == 0)
        {
            throw new LabException("lab forward needs at least one port: `protoswarm lab forward 8080` or `8080:80` (local port 8080 to port 80 on the nodes).");
        }

        var forwards = texts.Select(Parse).ToList();
        if (forwards.GroupBy(f => f.ListenPort).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw new LabException($"Local port {twice.Key} is given twice ({string.Join(", ", twice)}); each local port forwards to one node port.");
        }

        return forwards;
    }

    public override string ToString() =>
        ListenPort == NodePort
            ? ListenPort.ToString(CultureInfo.InvariantCulture)
            : string.Create(CultureInfo.InvariantCulture, $"{ListenPort}:{NodePort}");

    private static int Port(string text, string whole, string which) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535
            ? port
            : throw new LabException($"'{whole}': {which} '{text}' is not a TCP port; use a number from 1 to 65535.");
}
