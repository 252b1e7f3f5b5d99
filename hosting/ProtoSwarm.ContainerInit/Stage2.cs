using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using static ProtoSwarm.ContainerInit.Interop.Libc;
using static ProtoSwarm.ContainerInit.Interop.PosixSpawn;

namespace ProtoSwarm.ContainerInit;

// Stage 2: PID 1 of the new pid namespace. Makes the other namespaces, builds the root filesystem,
// joins the cgroups, makes the cgroup namespace and mounts the container's cgroups in it, sets the sysctls, confines itself, and execs the
// entrypoint (or, with Init, starts it and stays PID 1: InitProcess). Any failure is written as
// "<step>: <reason>" on fd 4 (close-on-exec, so a successful exec closes it with nothing written).
// With Tty, fd 5 is a socket to the monitor, which takes the master of the terminal opened here (Terminal).
// The runtime's own threads (GC, finalizer) share this process until the exec, so every credential
// change is made with the raw syscall on this thread (glibc's setuid would signal them all), and the
// mount namespace is unshared after CLONE_FS so this thread alone may pivot.
internal static unsafe class Stage2
{
    public const string Flag = "--stage2";
    private const int ReportFd = 4;
    private const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    public static int Run(string configPath)
    {
        fcntl(ReportFd, F_SETFD, FD_CLOEXEC);
        fcntl(InitProtocol.TerminalFd, F_SETFD, FD_CLOEXEC); // EBADF without a terminal: nothing to do
        // Not the monitor's -998: the container and all it starts are as open to the OOM killer as docker's (0).
        Native.SetOomScoreAdjust(0);
        try
        {
            var config = Native.ReadConfig(configPath);
            if (config.StdinPath is not null)
            {
                // The monitor opened the FIFO non-blocking; the main process reads it as any stdin, waiting for input.
                var flags = fcntl(0, F_GETFL, 0);
                Native.Check(flags < 0 ? flags : fcntl(0, F_SETFL, flags & ~O_NONBLOCK), "make stdin blocking");
            }

            Start(config);
            return 127; // not reached: Start execs or throws
        }
        catch (InitException e)
        {
            Native.WriteAll(ReportFd, e.Message + "\n");
            return 127;
        }
        catch (Exception e)
        {
            Native.WriteAll(ReportFd, "container init: " + e.Message + "\n");
            return 127;
        }
    }

    private static void Start(InitConfig config)
    {
        _ = umask(0);
        Native.Check(unshare(CLONE_FS), "unshare fs");
        if (config.NetworkNamespace is { } netns)
        {
            // The node's network agent made this namespace and put the task's interfaces in it.
            var fd = open(netns, O_RDONLY | O_CLOEXEC, 0);
            Native.Check(fd, $"open network namespace {netns}");
            Native.Check(setns(fd, CLONE_NEWNET), $"join network namespace {netns}");
            _ = close(fd);
        }

        Native.Check(unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | (config.NetworkNamespace is null ? CLONE_NEWNET : 0)), "unshare namespaces");
        var lastCap = int.Parse(File.ReadAllText("/proc/sys/kernel/cap_last_cap").Trim(), CultureInfo.InvariantCulture);

        // The root filesystem is built before the cgroups are joined: what it creates on the host's disk
        // (the overlay's copy-up of /etc, hostname, hosts, resolv.conf, mount points) brings filesystem
        // metadata blocks into the page cache, charged to the memory cgroup of whoever brought them in;
        // charged to the container's, they outlive the files and keep its removed memory cgroup "dying".
        // Only this init's own code runs before the join; the container's runs after it.
        RootFilesystem.Build(config);
        foreach (var procs in config.CgroupProcs)
        {
            Native.WriteFile(procs, "0", $"join cgroup {Path.GetDirectoryName(procs)}");
        }
        // After the join, so the cgroup namespace's root is the container's cgroup (and, on v2, the move
        // in is made from outside the namespace).
        Native.Check(unshare(CLONE_NEWCGROUP), "unshare cgroup namespace");
        RootFilesystem.MountCgroupView(config);
        Native.Check(sethostname(config.Hostname), "sethostname");
        if (config.NetworkNamespace is null)
        {
            LoopbackUp();
        }
        RootFilesystem.PivotRoot(config.RootfsMount);
        // In the container's own ipc and network namespaces now, and before /proc/sys turns read-only.
        foreach (var sysctl in config.Sysctls)
        {
            WriteSysctl(sysctl);
        }
        RootFilesystem.ConfineProc(config);
        if (config.ReadOnlyRoot)
        {
            Native.Check(mount(null, "/", null, MS_BIND | MS_REMOUNT | MS_RDONLY, null), "remount / read-only");
        }
        if (config.Tty)
        {
            // After the pivot, so the terminal is of the container's own devpts; before the confinement, which
            // may leave no capability to open it with.
            Terminal.OpenForMainProcess(InitProtocol.TerminalFd);
        }
        ConfineAndExec(config, lastCap, createWorkingDir: true, asInit: config.Init);
    }

    private static void WriteSysctl(InitSysctl sysctl)
    {
        var path = "/proc/sys/" + (sysctl.Key.Contains('/', StringComparison.Ordinal) ? sysctl.Key : sysctl.Key.Replace('.', '/'));
        var fd = open(path, O_WRONLY | O_CLOEXEC, 0);
        var errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
        if (fd >= 0)
        {
            var bytes = Encoding.UTF8.GetBytes(sysctl.Value);
            fixed (byte* p = bytes)
            {
                if (write(fd, p, bytes.Length) < 0)
                {
                    errno = Marshal.GetLastPInvokeError();
                }
            }
            _ = close(fd);
        }
        if (errno != 0)
        {
            throw new InitException($"sysctl {sysctl.Key}={sysctl.Value}: write {path}: {Native.StrError(errno)} (errno {errno})");
        }
    }

    // From here on the container's entrypoint and an exec'd process (ExecStage) are confined alike:
    // the caller is already in the container's namespaces and under its root. As an init, this process
    // is confined first and the entrypoint inherits it all: the init keeps nothing the entrypoint lacks.
    public static void ConfineAndExec(InitConfig config, int lastCap, bool createWorkingDir, bool asInit = false)
    {
        var values = stackalloc ulong[2];
        foreach (var limit in config.Rlimits)
        {
            values[0] = limit.Soft;
            values[1] = limit.Hard;
            Native.Check(setrlimit(limit.Resource, values), $"setrlimit {limit.Resource}");
        }

        var user = Users.Resolve(config.User, config.AdditionalGids);
        var env = config.Env.ToList();
        if (!env.Exists(e => e.StartsWith("PATH=", StringComparison.Ordinal)))
        {
            env.Add("PATH=" + DefaultPath);
        }
        if (!env.Exists(e => e.StartsWith("HOME=", StringComparison.Ordinal)))
        {
            env.Add("HOME=" + user.Home);
        }
        if (!env.Exists(e => e.StartsWith("HOSTNAME=", StringComparison.Ordinal)))
        {
            env.Add("HOSTNAME=" + config.Hostname);
        }
        var exe = FindExecutable(config.Args, env);
        if (createWorkingDir)
        {
            Native.MkdirAll(config.WorkingDir);
        }

        Credentials.Apply(config, user, lastCap);
        Native.Check(chdir(config.WorkingDir), $"chdir to cwd (\"{config.WorkingDir}\") set in config.json");

        CloseInheritedDescriptors();
        if (config.ProcessLabel is { } label)
        {
            // This thread execs the entrypoint, or as an init spawns it, and the child inherits the request.
            SetExecLabel(label);
        }
        var argv = Native.CStrings(config.Args);
        var envp = Native.CStrings(env);
        fixed (byte* program = config.Seccomp)
        {
            _ = umask(0x12 /* 022 */);
            if (!asInit)
            {
                // An init keeps the runtime's handlers (it goes on running .NET code); its child gets
                // default dispositions and an empty mask from posix_spawn instead.
                ResetSignals();
            }
            // A monitor that is killed takes the container with it. Set after our credential change,
            // which clears it; exec keeps it, but an entrypoint that changes its own user loses it
            // again: the node host then kills what the container's cgroup holds (MonitorGoneTests).
            Native.Check(prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0), "parent death signal");
            if (config.NoNewPrivileges)
            {
                Native.Check(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs");
            }
            if (config.Seccomp.Length > 0)
            {
                var fprog = stackalloc ulong[2];
                fprog[0] = (ulong)(config.Seccomp.Length / 8);
                fprog[1] = (ulong)program;
                Native.Check(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, (ulong)fprog, 0, 0), "seccomp");
            }
            if (asInit)
            {
                InitProcess.Run(config.Args[0], exe, argv, envp, ReportFd);
            }
            execve(exe, argv, envp);
        }
        var errno = Marshal.GetLastPInvokeError();
        throw new InitException($"exec: \"{config.Args[0]}\": {Native.StrError(errno).ToLowerInvariant()}");
    }

    // setexeccon: the next execve of this thread runs as the label. Opened without O_CREAT or O_TRUNC,
    // which a /proc attribute file does not take.
    private static void SetExecLabel(string label)
    {
        var fd = open(SelinuxLabel.ExecAttribute, O_WRONLY | O_CLOEXEC, 0);
        Native.Check(fd, $"selinux label {label}: open {SelinuxLabel.ExecAttribute}");
        try
        {
            var bytes = Encoding.UTF8.GetBytes(label);
            fixed (byte* p = bytes)
            {
                Native.Check((int)write(fd, p, bytes.Length), $"selinux label {label}: write {SelinuxLabel.ExecAttribute}");
            }
        }
        finally
        {
            _ = close(fd);
        }
    }

    private static int sethostname(string name)
    {
        var bytes = Encoding.UTF8.GetBytes(name);
        fixed (byte* p = bytes)
        {
            return Interop.Libc.sethostname(p, bytes.Length);
        }
    }

    private static string FindExecutable(string[] args, List<string> env)
    {
        if (args.Length == 0)
        {
            throw new InitException("exec: no command given (the image has no entrypoint and the task no command)");
        }
        var name = args[0];
        if (name.Contains('/', StringComparison.Ordinal))
        {
            if (access(name, 0) < 0)
            {
                throw new InitException($"exec: \"{name}\": stat {name}: {Native.StrError(Marshal.GetLastPInvokeError()).ToLowerInvariant()}");
            }
            return name;
        }
        var path = env.Last(e => e.StartsWith("PATH=", StringComparison.Ordinal))[5..];
        foreach (var dir in path.Split(':'))
        {
            var candidate = Path.Combine(dir.Length == 0 ? "." : dir, name);
            if (access(candidate, 1) == 0 && !Directory.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new InitException($"exec: \"{name}\": executable file not found in $PATH");
    }

    private static void LoopbackUp()
    {
        var fd = socket(2, 2 | O_CLOEXEC, 0);
        Native.Check(fd, "socket for lo");
        try
        {
            var ifreq = stackalloc byte[40];
            new Span<byte>(ifreq, 40).Clear();
            "lo"u8.CopyTo(new Span<byte>(ifreq, 16));
            Native.Check(ioctl(fd, 0x8913, ifreq), "SIOCGIFFLAGS lo");
            *(short*)(ifreq + 16) |= 1; // IFF_UP
            Native.Check(ioctl(fd, 0x8914, ifreq), "bring lo up");
        }
        finally
        {
            close(fd);
        }
    }

    // The process gets stdin, stdout and stderr, nothing else: init's own descriptors are close-on-exec,
    // but whatever the node host inherited without that flag (from a shell, a service manager, a test
    // runner) would otherwise pass through posix_spawn into the container. runc closes them the same way.
    private static void CloseInheritedDescriptors()
    {
        if (syscall(SYS_close_range, 3, uint.MaxValue, CLOSE_RANGE_CLOEXEC, 0, 0, 0) == 0)
        {
            return;
        }
        // Before Linux 5.11: every open descriptor, as /proc lists them (this process's pid namespace's /proc).
        foreach (var entry in Directory.GetFiles("/proc/self/fd"))
        {
            if (int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out var fd) && fd > 2)
            {
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC);
            }
        }
    }

    // exec keeps ignored signals ignored and the mask as it is; the runtime ignores SIGPIPE and may
    // block others, which an entrypoint must not inherit.
    private static void ResetSignals()
    {
        for (var sig = 1; sig < 65; sig++)
        {
            if (sig is 9 or 19 or 32 or 33)
            {
                continue;
            }
            signal(sig, 0);
        }
        var empty = stackalloc byte[128];
        _ = sigemptyset(empty);
        _ = sigprocmask(SIG_SETMASK, empty, null);
    }
}
