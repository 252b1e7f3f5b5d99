using System.Globalization;

namespace ProtoSwarm.ContainerInit;

internal sealed record ResolvedUser(uint Uid, uint Gid, uint[] Groups, string Home);

// "uid", "uid:gid", "name", "name:group": names come from the container's own /etc/passwd and
// /etc/group (read after pivot_root), as docker does; supplementary groups are the groups that list
// the user, plus the ones the task adds.
internal static class Users
{
    public static ResolvedUser Resolve(string spec, uint[] additional)
    {
        var parts = spec.Split(':', 2);
        var userPart = parts[0];
        var groupPart = parts.Length > 1 ? parts[1] : null;
        var passwd = ReadTable("/etc/passwd");
        var groups = ReadTable("/etc/group");

        uint uid = 0, gid = 0;
        var home = "/";
        string? name = null;
        if (userPart.Length > 0 && uint.TryParse(userPart, NumberStyles.None, CultureInfo.InvariantCulture, out uid))
        {
            var entry = passwd.FirstOrDefault(e => e.Length > 5 && e[2] == userPart);
            if (entry is not null)
            {
                name = entry[0];
                gid = uint.Parse(entry[3], CultureInfo.InvariantCulture);
                home = entry[5];
            }
        }
        else if (userPart.Length > 0)
        {
            var entry = passwd.FirstOrDefault(e => e.Length > 5 && e[0] == userPart)
                ?? throw new InitException($"unable to find user {userPart}: no matching entries in passwd file");
            name = entry[0];
            uid = uint.Parse(entry[2], CultureInfo.InvariantCulture);
            gid = uint.Parse(entry[3], CultureInfo.InvariantCulture);
            home = entry[5];
        }
        else
        {
            var entry = passwd.FirstOrDefault(e => e.Length > 5 && e[2] == "0");
            home = entry?[5] ?? "/root";
            name = entry?[0] ?? "root";
        }

        if (groupPart is not null && !uint.TryParse(groupPart, NumberStyles.None, CultureInfo.InvariantCulture, out gid))
        {
            var entry = groups.FirstOrDefault(e => e.Length > 2 && e[0] == groupPart)
                ?? throw new InitException($"unable to find group {groupPart}: no matching entries in group file");
            gid = uint.Parse(entry[2], CultureInfo.InvariantCulture);
        }

        // Like initgroups(): the primary group, then every group that lists the user.
        var supplementary = new List<uint> { gid };
        if (name is not null && groupPart is null)
        {
            foreach (var g in groups)
            {
                if (g.Length > 3 && g[3].Split(',').Contains(name) && uint.TryParse(g[2], NumberStyles.None, CultureInfo.InvariantCulture, out var id))
                {
                    supplementary.Add(id);
                }
            }
        }
        supplementary.AddRange(additional);
        // 4294967295 is -1 to setresuid/setresgid, "leave unchanged": the process would stay root. runc refuses
        // every id above int's range with this sentence.
        if (uid > int.MaxValue || gid > int.MaxValue || supplementary.Any(g => g > int.MaxValue))
        {
            throw new InitException("uids and gids must be in range 0-2147483647");
        }

        return new ResolvedUser(uid, gid, supplementary.Distinct().ToArray(), home);
    }

    private static List<string[]> ReadTable(string path)
    {
        try
        {
            return File.ReadAllLines(path).Where(l => l.Length > 0 && l[0] != '#').Select(l => l.Split(':')).ToList();
        }
        catch (IOException)
        {
            return [];
        }
        catch (UnauthorizedAccessException)
        {
            return [];
        }
    }
}
