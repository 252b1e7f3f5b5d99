using static ProtoSwarm.ContainerInit.Interop.Libc;

namespace ProtoSwarm.ContainerInit;

// Docker's rule: the capability set is the bounding set; root keeps it as permitted and effective,
// any other user starts with none (exec computes that anyway); nothing inheritable, no ambient.
internal static unsafe class Credentials
{
    public static void Apply(InitConfig config, ResolvedUser user, int lastCap)
    {
        for (var cap = 0; cap <= lastCap; cap++)
        {
            if ((config.Capabilities & (1UL << cap)) == 0)
            {
                Native.Check(prctl(PR_CAPBSET_DROP, (ulong)cap, 0, 0, 0), "drop bounding capabilities");
            }
        }
        Native.Check(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0), "keep capabilities");
        fixed (uint* groups = user.Groups)
        {
            Native.Check(syscall(SYS_setgroups, user.Groups.Length, (long)groups, 0, 0, 0, 0), "setgroups");
        }
        Native.Check(syscall(SYS_setresgid, user.Gid, user.Gid, user.Gid, 0, 0, 0), "setgid");
        Native.Check(syscall(SYS_setresuid, user.Uid, user.Uid, user.Uid, 0, 0, 0), "setuid");
        Native.Check(prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0), "keep capabilities");

        var set = user.Uid == 0 ? config.Capabilities : 0;
        var header = stackalloc uint[2] { 0x20080522, 0 }; // _LINUX_CAPABILITY_VERSION_3, this thread
        var data = stackalloc uint[6]
        {
            (uint)set, (uint)set, 0,                  // effective, permitted, inheritable: bits 0-31
            (uint)(set >> 32), (uint)(set >> 32), 0,  // bits 32-63
        };
        Native.Check(syscall(SYS_capset, (long)header, (long)data, 0, 0, 0, 0), "capset");
        // Older kernels lack ambient capabilities; there is nothing to clear on them.
        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    }
}
