using System.Globalization;

namespace ProtoSwarm.Cli.Lab;

/// <summary>
/// The lab's underlay, made with `ip`: one namespace holding bridge br0, and per node a namespace
/// whose eth0 is one end of a veth pair enslaved to br0 on the other end. Nothing is created in
/// the caller's own namespace, so no lab address is ever routed to or from the machine's network.
/// </summary>
internal static class LabNetwork
{
    private const string Ip = "ip";

    public static async Task CreateBridgeAsync(string bridgeNetns, CancellationToken ct)
    {
        await IpAsync(ct, "netns", "add", bridgeNetns).ConfigureAwait(false);
        await IpAsync(ct, "-n", bridgeNetns, "link", "set", "lo", "up").ConfigureAwait(false);
        await IpAsync(ct, "-n", bridgeNetns, "link", "add", LabNames.BridgeInterface, "type", "bridge").ConfigureAwait(false);
        await IpAsync(ct, "-n", bridgeNetns, "link", "set", LabNames.BridgeInterface, "up").ConfigureAwait(false);
    }

    public static async Task CreateNodeAsync(string bridgeNetns, LabNodePlan node, CancellationToken ct)
    {
        var veth = LabNames.BridgeVeth(node.Name);
        await IpAsync(ct, "netns", "add", node.Netns).ConfigureAwait(false);
        await IpAsync(ct, "-n", node.Netns, "link", "set", "lo", "up").ConfigureAwait(false);
        await IpAsync(ct, "-n", bridgeNetns, "link", "add", veth, "type", "veth",
            "peer", "name", LabNames.NodeInterface, "netns", node.Netns).ConfigureAwait(false);
        await IpAsync(ct, "-n", bridgeNetns, "link", "set", veth, "master", LabNames.BridgeInterface, "up").ConfigureAwait(false);
        await IpAsync(ct, "-n", node.Netns, "addr", "add", LabPlan.CidrOf(node.Address), "dev", LabNames.NodeInterface).ConfigureAwait(false);
        await IpAsync(ct, "-n", node.Netns, "link", "set", LabNames.NodeInterface, "up").ConfigureAwait(false);
    }

    /// <summary>Every namespace of this lab that exists now, made by any run of `up`, whole or not.</summary>
    public static async Task<IReadOnlyList<string>> ListAsync(string lab, CancellationToken ct)
    {
        var output = await ProcessRunner.RunCheckedAsync(Ip, ["netns", "list"], ct).ConfigureAwait(false);
        return ParseNetnsList(output).Where(ns => LabNames.BelongsTo(lab, ns)).ToList();
    }

    /// <summary>The pids whose network namespace is <paramref name="netns"/>.</summary>
    public static async Task<IReadOnlyList<int>> PidsAsync(string netns, CancellationToken ct)
    {
        var result = await ProcessRunner.RunAsync(Ip, ["netns", "pids", netns], ct).ConfigureAwait(false);
        return result.ExitCode != 0 ? [] : ParsePids(result.StdOut);
    }

    public static async Task DeleteAsync(string netns, CancellationToken ct)
    {
        var result = await ProcessRunner.RunAsync(Ip, ["netns", "delete", netns], ct).ConfigureAwait(false);
        if (result.ExitCode != 0 && File.Exists(LabNames.NetnsPath(netns)))
        {
            throw new LabException($"Could not delete network namespace {netns}: {result.StdErr.Trim()}");
        }
    }

    /// <summary>`ip netns list` prints "name" or "name (id: N)" per line.</summary>
    public static IEnumerable<string> ParseNetnsList(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split(' ', 2)[0]);

    public static IReadOnlyList<int> ParsePids(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : 0)
            .Where(pid => pid > 0)
            .ToList();

    private static Task<string> IpAsync(CancellationToken ct, params string[] arguments) =>
        ProcessRunner.RunCheckedAsync(Ip, arguments, ct);
}
