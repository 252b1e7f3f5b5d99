namespace ProtoSwarm.Hosting.Runtime;

/// <summary>
/// The changes docker's daemon makes to a container's /etc/hosts when it joins or leaves a network (libnetwork's
/// etchosts): joining appends one "IP\tHOSTNAME" line for its address on the network; leaving deletes the lines that map
/// that address to that hostname and nothing else, so the user's and --add-host's lines stay. Pure: the caller reads and
/// writes the file.
/// </summary>
internal static class EtcHosts
{
    /// <summary>The file with the line for <paramref name="address"/> appended, unless it is there already (a connect repeated).</summary>
    public static string Add(string content, string address, string hostname)
    {
        if (Lines(content).Any(l => Maps(l, address, hostname)))
        {
            return content;
        }

        return (content.Length == 0 || content.EndsWith('\n') ? content : content + "\n") + $"{address}\t{hostname}\n";
    }

    /// <summary>The file without the lines that map <paramref name="address"/> to <paramref name="hostname"/> alone.</summary>
    public static string Remove(string content, string address, string hostname)
    {
        var kept = Lines(content).Where(l => !Maps(l, address, hostname)).ToList();
        return kept.Count == 0 ? string.Empty : string.Join('\n', kept) + "\n";
    }

    private static IEnumerable<string> Lines(string content) => content.Split('\n').SkipLast(content.EndsWith('\n') ? 1 : 0);

    private static bool Maps(string line, string address, string hostname) =>
        line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries) is [var ip, var name] && ip == address && name == hostname;
}
