using System.Net;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Containers.Volumes;

/// <summary>
/// docker's local driver options (`volume create -o type=... -o device=... -o o=...`, compose `driver_opts`): with
/// them a volume's directory is a mount made on its first use and undone when its last container goes, as mount(8)
/// would make it (`mount -t TYPE -o O DEVICE DIR`): a tmpfs, an NFS export, a bind of a node's directory
/// (`type=none,o=bind,device=/srv/x`). `o` holds mount(8)'s flag words (ro, nosuid, noexec, bind, ...), which become
/// mount flags, and the filesystem's own options (size=, uid=, addr=, ...), which are passed to it as they are. Pure.
/// </summary>
public sealed record LocalVolumeOptions(string Type, string Device, ulong Flags, string Data)
{
    internal const ulong MS_RDONLY = 1, MS_NOSUID = 2, MS_NODEV = 4, MS_NOEXEC = 8, MS_SYNCHRONOUS = 16, MS_REMOUNT = 32, MS_MANDLOCK = 64,
        MS_DIRSYNC = 128, MS_NOATIME = 1024, MS_NODIRATIME = 2048, MS_BIND = 4096, MS_REC = 16384, MS_UNBINDABLE = 1 << 17,
        MS_PRIVATE = 1 << 18, MS_SLAVE = 1 << 19, MS_SHARED = 1 << 20, MS_RELATIME = 1 << 21, MS_STRICTATIME = 1 << 24;

    /// <summary>The propagation flags: applied by a mount of their own after the volume's (mount(2) takes them alone).</summary>
    internal const ulong Propagation = MS_UNBINDABLE | MS_PRIVATE | MS_SLAVE | MS_SHARED;

    // mount(8)'s flag words: each sets (or, for its opposite, clears) a flag; every other word of `o` is the filesystem's.
    private static readonly Dictionary<string, (bool Clear, ulong Flag)> FlagWords = new(StringComparer.Ordinal)
    {
        ["defaults"] = (false, 0),
        ["ro"] = (false, MS_RDONLY), ["rw"] = (true, MS_RDONLY),
        ["nosuid"] = (false, MS_NOSUID), ["suid"] = (true, MS_NOSUID),
        ["nodev"] = (false, MS_NODEV), ["dev"] = (true, MS_NODEV),
        ["noexec"] = (false, MS_NOEXEC), ["exec"] = (true, MS_NOEXEC),
        ["sync"] = (false, MS_SYNCHRONOUS), ["async"] = (true, MS_SYNCHRONOUS),
        ["dirsync"] = (false, MS_DIRSYNC),
        ["mand"] = (false, MS_MANDLOCK), ["nomand"] = (true, MS_MANDLOCK),
        ["noatime"] = (false, MS_NOATIME), ["atime"] = (true, MS_NOATIME),
        ["nodiratime"] = (false, MS_NODIRATIME), ["diratime"] = (true, MS_NODIRATIME),
        ["relatime"] = (false, MS_RELATIME), ["norelatime"] = (true, MS_RELATIME),
        ["strictatime"] = (false, MS_STRICTATIME), ["nostrictatime"] = (true, MS_STRICTATIME),
        ["bind"] = (false, MS_BIND), ["rbind"] = (false, MS_BIND | MS_REC),
        ["unbindable"] = (false, MS_UNBINDABLE), ["runbindable"] = (false, MS_UNBINDABLE | MS_REC),
        ["private"] = (false, MS_PRIVATE), ["rprivate"] = (false, MS_PRIVATE | MS_REC),
        ["shared"] = (false, MS_SHARED), ["rshared"] = (false, MS_SHARED | MS_REC),
        ["slave"] = (false, MS_SLAVE), ["rslave"] = (false, MS_SLAVE | MS_REC),
    };

    /// <summary>The mount the options describe, or null when they describe none (a plain directory). Check them with <see cref="LocalVolumeDriver.Problem"/> first.</summary>
    public static LocalVolumeOptions? From(IReadOnlyDictionary<string, string> options)
    {
        if (!options.TryGetValue("type", out var type) || !options.TryGetValue("device", out var device))
        {
            return null;
        }

        ulong flags = 0;
        var data = new List<string>();
        foreach (var word in (options.GetValueOrDefault("o") ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            if (FlagWords.TryGetValue(word, out var flag))
            {
                flags = flag.Clear ? flags & ~flag.Flag : flags | flag.Flag;
            }
            else
            {
                data.Add(word);
            }
        }

        return new LocalVolumeOptions(type, device, flags, string.Join(',', data));
    }

    /// <summary>
    /// The filesystem's options with an NFS or CIFS server's name turned into its address (the kernel takes only an
    /// address in addr=, as docker's driver resolves it first); <paramref name="resolve"/> gives a name's addresses.
    /// </summary>
    public string DataFor(Func<string, IPAddress[]> resolve)
    {
        if (Type is not ("nfs" or "nfs4" or "cifs"))
        {
            return Data;
        }

        var words = Data.Split(',', StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < words.Length; i++)
        {
            if (words[i].StartsWith("addr=", StringComparison.Ordinal) && words[i]["addr=".Length..] is { Length: > 0 } host && !IPAddress.TryParse(host, out _))
            {
                var address = resolve(host).OrderBy(a => a.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork).FirstOrDefault()
                    ?? throw new IOException($"addr={host}: the name has no address");
                words[i] = "addr=" + address;
            }
        }

        return string.Join(',', words);
    }
}
