using System.Runtime.InteropServices;
using static ProtoSwarm.ContainerInit.Interop.Libc;
using static ProtoSwarm.ContainerInit.Interop.PosixSpawn;

namespace ProtoSwarm.ContainerInit;

// Docker's --init (tini there): stage 2, already confined exactly as the entrypoint will be (same
// credentials, capabilities, no_new_privs, seccomp), stays the container's PID 1 instead of exec'ing.
// It starts the entrypoint with posix_spawn, then only forwards signals to it and reaps every child
// the kernel hands to PID 1, and exits with the entrypoint's status (128 + signal if one killed it);
// the kernel then ends whatever else is left in the pid namespace. Why signals work at all: a PID 1
// ignores a signal it has no handler for, unless the signal is blocked, and the .NET runtime's own
// threads would take any signal they do not block; so the monitor starts stage 2 with these signals
// already blocked (every thread inherits that mask) and they are read here from a signalfd.
internal static unsafe class InitProcess
{
    // What tini forwards: every catchable signal but the synchronous ones (a fault of init itself) and
    // SIGCHLD, which is init's own. Real-time signals stay with the runtime, which uses one of them.
    public static readonly int[] Forwarded =
        [1 /* HUP */, 2 /* INT */, 3 /* QUIT */, 10 /* USR1 */, 12 /* USR2 */, 13 /* PIPE */, 14 /* ALRM */, 15 /* TERM */,
         16 /* STKFLT */, 18 /* CONT */, 20 /* TSTP */, 23 /* URG */, 24 /* XCPU */, 25 /* XFSZ */, 26 /* VTALRM */,
         27 /* PROF */, 28 /* WINCH */, 29 /* IO */, 30 /* PWR */];

    /// <summary>Fills a sigset_t (128 bytes) with the forwarded signals and SIGCHLD: the ones blocked from stage 2's start.</summary>
    public static void HandledSignals(void* set)
    {
        _ = sigemptyset(set);
        foreach (var signal in Forwarded)
        {
            _ = sigaddset(set, signal);
        }
        _ = sigaddset(set, SIGCHLD);
    }

    /// <summary>Never returns: starts the entrypoint, then serves as PID 1 until it ends.</summary>
    public static void Run(string name, string exe, byte** argv, byte** envp, int reportFd)
    {
        var handled = stackalloc byte[128];
        HandledSignals(handled);
        _ = sigprocmask(SIG_BLOCK, handled, null);
        var signals = signalfd(-1, handled, O_CLOEXEC);
        Native.Check(signals, "signalfd");

        // Before the entrypoint exists, so it never sees otherwise. /proc/1/exe is protoswarm-init on
        // the host: not for the container's processes to open. And PID 1 is named as what it is.
        _ = prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        fixed (byte* p = "protoswarm-init"u8) // 15 bytes and the literal's NUL: a whole comm
        {
            _ = prctl(PR_SET_NAME, (ulong)p, 0, 0, 0);
        }

        var child = Spawn(name, exe, argv, envp);
        // The entrypoint runs: the monitor reads the end of the report pipe and says "started".
        _ = close(reportFd);

        var info = stackalloc byte[128]; // struct signalfd_siginfo
        while (true)
        {
            var n = read(signals, info, 128);
            if (n < 128)
            {
                continue; // EINTR; a signalfd reads whole records or nothing
            }
            var signal = *(int*)info;
            if (signal != SIGCHLD)
            {
                _ = kill(child, signal);
                continue;
            }
            if (Reap(child) is { } status)
            {
                var killedBy = status & 0x7f;
                _exit(killedBy == 0 ? (status >> 8) & 0xff : 128 + killedBy);
            }
        }
    }

    // Every child that ended, the entrypoint's orphans included; the entrypoint's wait status if it was one of them.
    private static int? Reap(int child)
    {
        int? result = null;
        while (true)
        {
            int status;
            var pid = waitpid(-1, &status, WNOHANG);
            if (pid < 0 && Marshal.GetLastPInvokeError() == EINTR)
            {
                continue;
            }
            if (pid <= 0)
            {
                return result;
            }
            if (pid == child)
            {
                result = status;
            }
        }
    }

    // As the entrypoint is exec'd without an init: default dispositions, nothing blocked, this process's
    // descriptors (all close-on-exec by now) left behind.
    private static int Spawn(string name, string exe, byte** argv, byte** envp)
    {
        var attr = NativeMemory.AllocZeroed(512);
        var all = stackalloc byte[128];
        var none = stackalloc byte[128];
        _ = sigfillset(all);
        _ = sigemptyset(none);
        _ = posix_spawnattr_init(attr);
        _ = posix_spawnattr_setsigdefault(attr, all);
        _ = posix_spawnattr_setsigmask(attr, none);
        _ = posix_spawnattr_setflags(attr, (short)(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK));
        int pid;
        var rc = posix_spawn(&pid, exe, null, attr, argv, envp);
        NativeMemory.Free(attr);
        return rc == 0 ? pid : throw new InitException($"exec: \"{name}\": {Native.StrError(rc).ToLowerInvariant()}");
    }
}
