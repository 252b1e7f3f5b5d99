namespace ProtoSwarm.Networking.Overlay;

/// <summary>
/// An interface's route_localnet (/proc/sys/net/ipv4/conf/IF/route_localnet), which lets a loopback source or
/// destination leave or arrive on it. The node turns it on for its interfaces toward tasks
/// (<see cref="Nft.GatewayRuleset.NeedsRouteLocalnet"/>) as it makes each one, and sweeps them on every rules
/// pass in case one was missed. A sysctl of the namespace of the calling thread.
/// </summary>
public static class RouteLocalnet
{
    public static string FileOf(string interfaceName) => $"/proc/sys/net/ipv4/conf/{interfaceName}/route_localnet";

    /// <summary>Turns it on unless it already is; false when it already was, or the interface is not there (or went).</summary>
    public static bool Enable(string interfaceName)
    {
        var file = FileOf(interfaceName);
        try
        {
            if (!File.Exists(file) || File.ReadAllText(file).Trim() == "1")
            {
                return false;
            }

            File.WriteAllText(file, "1");
            return true;
        }
        catch (IOException)
        {
            // The interface went away while it was looked at (a task's, as its namespace goes): nothing to turn on.
            return false;
        }
    }
}
