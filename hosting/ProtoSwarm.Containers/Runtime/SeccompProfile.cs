using System.Buffers.Binary;

namespace ProtoSwarm.Containers.Runtime;

/// <summary>
/// A seccomp filter in the spirit of docker's default profile, written as a denylist: the system calls
/// docker keeps from a default container fail with EPERM unless the capability docker ties them to
/// was added (mount with SYS_ADMIN, reboot with SYS_BOOT...); a few are refused always (keyctl,
/// kexec, swapon). clone with namespace flags is refused without SYS_ADMIN, clone3 fails with ENOSYS
/// (its flags live in memory a filter cannot read, so libc falls back to clone), and anything not
/// x86_64 (i386, x32) is refused. Unlike docker, ptrace needs SYS_PTRACE.
/// </summary>
internal static class SeccompProfile
{
    public const uint AuditArchX86_64 = 0xC000003E;
    public const uint RetAllow = 0x7FFF0000;
    public const uint RetErrno = 0x00050000;
    public const int EPERM = 1, ENOSYS = 38;
    public const int Clone = 56, Clone3 = 435;
    public const uint NamespaceFlags = 0x7E020000; // CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET

    // name, x86_64 number, the capability that lifts the denial (null: always denied).
    public static readonly IReadOnlyList<(string Name, int Number, string? LiftedBy)> Denied =
    [
        ("mount", 165, "SYS_ADMIN"), ("umount2", 166, "SYS_ADMIN"), ("pivot_root", 155, "SYS_ADMIN"),
        ("unshare", 272, "SYS_ADMIN"), ("setns", 308, "SYS_ADMIN"), ("sethostname", 170, "SYS_ADMIN"),
        ("setdomainname", 171, "SYS_ADMIN"), ("quotactl", 179, "SYS_ADMIN"), ("syslog", 103, "SYS_ADMIN"),
        ("lookup_dcookie", 212, "SYS_ADMIN"), ("fanotify_init", 300, "SYS_ADMIN"), ("name_to_handle_at", 303, "SYS_ADMIN"),
        ("bpf", 321, "SYS_ADMIN"), ("perf_event_open", 298, "SYS_ADMIN"),
        ("open_tree", 428, "SYS_ADMIN"), ("move_mount", 429, "SYS_ADMIN"), ("fsopen", 430, "SYS_ADMIN"),
        ("fsconfig", 431, "SYS_ADMIN"), ("fsmount", 432, "SYS_ADMIN"), ("fspick", 433, "SYS_ADMIN"),
        ("mount_setattr", 442, "SYS_ADMIN"),
        ("reboot", 169, "SYS_BOOT"), ("kexec_load", 246, "SYS_BOOT"), ("kexec_file_load", 320, "SYS_BOOT"),
        ("init_module", 175, "SYS_MODULE"), ("finit_module", 313, "SYS_MODULE"), ("delete_module", 176, "SYS_MODULE"),
        ("ptrace", 101, "SYS_PTRACE"), ("process_vm_readv", 310, "SYS_PTRACE"), ("process_vm_writev", 311, "SYS_PTRACE"),
        ("kcmp", 312, "SYS_PTRACE"), ("pidfd_getfd", 438, "SYS_PTRACE"),
        ("acct", 163, "SYS_PACCT"), ("iopl", 172, "SYS_RAWIO"), ("ioperm", 173, "SYS_RAWIO"),
        ("settimeofday", 164, "SYS_TIME"), ("clock_settime", 227, "SYS_TIME"), ("clock_adjtime", 305, "SYS_TIME"),
        ("vhangup", 153, "SYS_TTY_CONFIG"), ("open_by_handle_at", 304, "DAC_READ_SEARCH"),
        ("keyctl", 250, null), ("add_key", 248, null), ("request_key", 249, null),
        ("swapon", 167, null), ("swapoff", 168, null), ("userfaultfd", 323, null), ("uselib", 134, null),
        ("ustat", 136, null), ("sysfs", 139, null), ("_sysctl", 156, null), ("create_module", 174, null),
        ("get_kernel_syms", 177, null), ("query_module", 178, null), ("nfsservctl", 180, null),
        ("io_uring_setup", 425, null), ("io_uring_enter", 426, null), ("io_uring_register", 427, null),
    ];

    /// <summary>The filter for a container with these capabilities, as 8-byte sock_filter instructions.</summary>
    public static byte[] Build(ulong capabilities)
    {
        var denied = Denied.Where(d => d.LiftedBy is null || !Capabilities.Has(capabilities, d.LiftedBy)).Select(d => d.Number).ToList();
        var checkClone = !Capabilities.Has(capabilities, "SYS_ADMIN");

        var program = new List<(ushort Code, byte Jt, byte Jf, uint K)>();
        // Layout: header, one jeq per rule, ALLOW, then the targets: EPERM, ENOSYS, the clone check.
        var rules = new List<(int Number, int Target)>();
        rules.AddRange(denied.Select(n => (n, 0)));
        rules.Add((Clone3, 1));
        if (checkClone)
        {
            rules.Add((Clone, 2));
        }
        const int header = 5;
        var allowAt = header + rules.Count;
        int TargetAt(int t) => allowAt + 1 + t;

        program.Add((0x20, 0, 0, 4));                                   // ld arch
        program.Add((0x15, 1, 0, AuditArchX86_64));                     // jeq x86_64 ? skip : next
        program.Add((0x06, 0, 0, RetErrno | EPERM));                    // other architecture
        program.Add((0x20, 0, 0, 0));                                   // ld nr
        program.Add((0x35, (byte)(TargetAt(0) - 5), 0, 0x40000000));    // x32 numbers
        for (var i = 0; i < rules.Count; i++)
        {
            var at = header + i;
            program.Add((0x15, checked((byte)(TargetAt(rules[i].Target) - (at + 1))), 0, (uint)rules[i].Number));
        }
        program.Add((0x06, 0, 0, RetAllow));
        program.Add((0x06, 0, 0, RetErrno | EPERM));
        program.Add((0x06, 0, 0, RetErrno | ENOSYS));
        if (checkClone)
        {
            program.Add((0x20, 0, 0, 16));                              // ld args[0] (low 32 bits: the flags)
            program.Add((0x45, 0, 1, NamespaceFlags));                  // jset namespace flags ? deny : allow
            program.Add((0x06, 0, 0, RetErrno | EPERM));
            program.Add((0x06, 0, 0, RetAllow));
        }

        var bytes = new byte[program.Count * 8];
        for (var i = 0; i < program.Count; i++)
        {
            var span = bytes.AsSpan(i * 8);
            BinaryPrimitives.WriteUInt16LittleEndian(span, program[i].Code);
            span[2] = program[i].Jt;
            span[3] = program[i].Jf;
            BinaryPrimitives.WriteUInt32LittleEndian(span[4..], program[i].K);
        }
        return bytes;
    }
}
