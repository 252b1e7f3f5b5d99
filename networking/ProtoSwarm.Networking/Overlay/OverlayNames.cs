using System.Security.Cryptography;
using System.Text;

namespace ProtoSwarm.Networking.Overlay;

/// <summary>
/// Device names and ownership marks of the overlay. Names fit Linux's 15 characters; each device also
/// carries an alias (ifalias) that says which network and task it is for, so a node can list and sweep
/// what it made without keeping a record of it, and never touches a device that merely looks like ours.
/// </summary>
public static class OverlayNames
{
    public const string BridgePrefix = "ps-", VxlanPrefix = "vx-", VethPrefix = "vt", GatewayPrefix = "pg-";

    /// <summary>The name, inside a network's own namespace, of the veth end that leads to the node's namespace.</summary>
    public const string GatewayPeer = "gw0";

    /// <summary>The ifalias prefix of every device the overlay makes.</summary>
    public const string AliasPrefix = "protoswarm:";

    public static string Bridge(string networkId) => networkId == GatewayBridge.NetworkId ? GatewayBridge.Name : BridgePrefix + Short(networkId);

    public static string Vxlan(string networkId) => VxlanPrefix + Short(networkId);

    /// <summary>
    /// The node's end of the veth into a network's own namespace: it holds the gateway (and the
    /// node's own address) in the node's namespace, where the bridge held them before it moved.
    /// </summary>
    public static string Gateway(string networkId) => GatewayPrefix + Short(networkId);

    /// <summary>The host end of a task's veth: deterministic from task and network, so it is found again after a restart.</summary>
    public static string Veth(string taskKey, string networkId)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(taskKey + "\n" + networkId));
        return VethPrefix + Convert.ToHexStringLower(hash)[..12];
    }

    /// <summary>Alias of a network's bridge and vxlan device.</summary>
    public static string NetworkAlias(string networkId) => $"{AliasPrefix}{networkId}";

    /// <summary>Alias of a task's host-side veth.</summary>
    public static string TaskAlias(string networkId, string taskKey) => $"{AliasPrefix}{networkId}:{taskKey}";

    /// <summary>Reads an alias back: the network, and the task for a veth; null when the device is not ours.</summary>
    public static (string NetworkId, string? TaskKey)? ParseAlias(string alias)
    {
        if (!alias.StartsWith(AliasPrefix, StringComparison.Ordinal))
        {
            return null;
        }
        var rest = alias[AliasPrefix.Length..];
        var colon = rest.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? (rest, null) : (rest[..colon], rest[(colon + 1)..]);
    }

    private static string Short(string networkId) =>
        networkId.Length == 0 ? throw new ArgumentException("a network id is empty", nameof(networkId)) : networkId[..Math.Min(8, networkId.Length)];
}
