using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using static ProtoSwarm.ContainerInit.Interop.Libc;
using static ProtoSwarm.ContainerInit.Interop.PosixSpawn;

namespace ProtoSwarm.ContainerInit;

// `protoswarm-init --exec EXECCONFIG`: one more process in a running container, confined as its
// entrypoint is. Two stages, like a container start:
//  - the outer stage checks that the pid is still the container's PID 1 (pidfd first, so a reused pid
//    is never entered), opens its namespaces, joins only its pid namespace (that applies to children),
//    starts the inner stage with posix_spawn, then waits for it and reports, outside the container:
//    it never counts against the container's pids or memory, nor keeps its cgroup busy;
//  - the inner stage, born in the container's pid namespace, joins the cgroups, then the cgroup, ipc,
//    uts and net namespaces, and last the mount namespace (after unshare(CLONE_FS): the runtime's own
//    threads share this thread's root and cwd otherwise, and setns refuses). From then on only the
//    container's files are visible (not this binary, not the configs): everything it needs from the
//    host is read or opened before. It confines itself with Stage2's code and execs the command.
// Stdio is inherited by the command; the outer stage exits with the command's code (128 + signal).
// A detached exec (docker exec -d) outlives the node host: its stdio is /dev/null, and the outer stage
// keeps waiting for it when the status socket closes instead of killing it.
internal static unsafe class ExecStage
{
    public const string Flag = InitProtocol.ExecFlag;
    public const string InnerFlag = "--exec-stage2";
    private const int ReportFd = 4;

    // The container's namespace files, opened by the outer stage and handed down at these numbers.
    private static readonly (string Name, int Type, int Fd)[] Namespaces =
    [
        ("cgroup", CLONE_NEWCGROUP, 5), ("ipc", CLONE_NEWIPC, 6), ("uts", CLONE_NEWUTS, 7), ("net", CLONE_NEWNET, 8), ("mnt", CLONE_NEWNS, 9),
    ];

    public static int Run(string configPath)
    {
        // fd 3 reports to the node host; run by hand, there is none and stderr says it all.
        var status = fcntl(InitProtocol.StatusFd, F_GETFD, 0) >= 0 ? InitProtocol.StatusFd : -1;
        if (status >= 0)
        {
            _ = fcntl(status, F_SETFD, FD_CLOEXEC);
        }
        // A host that went away while a detached command runs is no reason to die at the "exit" line.
        signal(SIGPIPE, 1 /* SIG_IGN */);
        int child, report;
        bool detached;
        try
        {
            (child, report, detached) = Enter(configPath);
        }
        catch (InitException e)
        {
            return Fail(status, ExecProtocol.NotEntered, e.Message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return Fail(status, ExecProtocol.NotEntered, "exec: " + e.Message);
        }

        var failure = Native.ReadToEnd(report).TrimEnd('\n');
        close(report);
        if (failure.Length > 0)
        {
            int ignored;
            _ = waitpid(child, &ignored, 0);
            return Fail(status, ExecProtocol.ExitCodeFor(failure), failure);
        }
        Say(status, $"{ExecProtocol.Started} {child.ToString(CultureInfo.InvariantCulture)}");
        if (detached)
        {
            // The command runs: its config was read. A host that restarts meanwhile could not delete it.
            _ = unlink(configPath);
        }
        var wait = Supervise(child, status, detached);
        Say(status, $"{ExecProtocol.Exit} {wait.ToString(CultureInfo.InvariantCulture)}");
        var endedBy = wait & 0x7f;
        return endedBy == 0 ? (wait >> 8) & 0xff : 128 + endedBy;
    }

    private static (int Child, int Report, bool Detached) Enter(string configPath)
    {
        var exec = ReadExecConfig(configPath);
        var id = Path.GetFileName(Path.GetDirectoryName(exec.ContainerConfig)) ?? "";
        if (exec.Args.Length == 0 || exec.Args[0].Length == 0)
        {
            throw new InitException("exec: no command given");
        }
        if (!File.Exists(exec.ContainerConfig))
        {
            throw NotRunning(id);
        }
        var container = Native.ReadConfig(exec.ContainerConfig);

        var pidfd = (int)syscall(SYS_pidfd_open, exec.Pid, 0, 0, 0, 0, 0);
        if (pidfd < 0 || !IsContainerInit(exec.Pid, container))
        {
            throw NotRunning(id);
        }
        var fds = new int[Namespaces.Length];
        for (var i = 0; i < Namespaces.Length; i++)
        {
            fds[i] = open($"/proc/{exec.Pid}/ns/{Namespaces[i].Name}", O_RDONLY | O_CLOEXEC, 0);
            if (fds[i] < 0)
            {
                throw NotRunning(id);
            }
        }
        var pidNamespace = open($"/proc/{exec.Pid}/ns/pid", O_RDONLY | O_CLOEXEC, 0);
        // The namespace files were opened while the pidfd's process was alive: they are the container's.
        if (pidNamespace < 0 || HasExited(pidfd))
        {
            throw NotRunning(id);
        }
        Native.Check(setns(pidNamespace, CLONE_NEWPID), "exec: setns pid");
        close(pidNamespace);
        close(pidfd);

        int* pipe = stackalloc int[2];
        Native.Check(pipe2(pipe, O_CLOEXEC), "exec: pipe");
        var child = Spawn(configPath, pipe[1], fds, exec.Tty);
        close(pipe[1]);
        foreach (var fd in fds)
        {
            close(fd);
        }
        return (child, pipe[0], exec.Detached);
    }

    // Still PID 1 of a pid namespace below ours, and in the container's cgroup: the container's init,
    // not a process that got its pid after the container ended.
    private static bool IsContainerInit(int pid, InitConfig container)
    {
        try
        {
            var nspid = File.ReadAllLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("NSpid:", StringComparison.Ordinal));
            var ids = nspid?.Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries) ?? [];
            if (ids.Length < 3 || ids[^1] != "1")
            {
                return false;
            }
            var procs = container.CgroupProcs.FirstOrDefault();
            return procs is null || File.ReadAllLines(procs).Contains(pid.ToString(CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static bool HasExited(int pidfd)
    {
        var fd = new PollFd { Fd = pidfd, Events = POLLIN };
        return poll(&fd, 1, 0) > 0;
    }

    private static InitException NotRunning(string id) => new($"container {id} is not running");

    private static int Spawn(string configPath, int report, int[] namespaces, bool tty)
    {
        var actions = NativeMemory.AllocZeroed(256);
        var attr = NativeMemory.AllocZeroed(512);
        var signals = NativeMemory.AllocZeroed(128);
        var empty = NativeMemory.AllocZeroed(128);
        _ = posix_spawn_file_actions_init(actions);
        _ = posix_spawn_file_actions_adddup2(actions, report, ReportFd);
        for (var i = 0; i < namespaces.Length; i++)
        {
            _ = posix_spawn_file_actions_adddup2(actions, namespaces[i], Namespaces[i].Fd);
        }
        _ = posix_spawnattr_init(attr);
        _ = sigfillset(signals);
        _ = sigemptyset(empty);
        _ = posix_spawnattr_setsigdefault(attr, signals);
        _ = posix_spawnattr_setsigmask(attr, empty);
        // Its own process group: a timeout kills the command and what it started, not only the command.
        // On a terminal, a session of its own (whose group has the same id): only a session leader may
        // take a controlling terminal, and a group leader cannot become one later.
        _ = posix_spawnattr_setpgroup(attr, 0);
        _ = posix_spawnattr_setflags(attr, (short)(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | (tty ? POSIX_SPAWN_SETSID : POSIX_SPAWN_SETPGROUP)));
        var argv = Native.CStrings(["protoswarm-init", InnerFlag, configPath]);
        var envp = Native.CStrings([]);
        int pid;
        // This stage never left the host's mount namespace, so /proc/self/exe is still this binary.
        var rc = posix_spawn(&pid, "/proc/self/exe", actions, attr, argv, envp);
        if (rc != 0)
        {
            throw InitException.FromErrno("exec: start in the container", rc);
        }
        return pid;
    }

    // Waits for the command while serving "kill <signal>" lines from the host (sent to the command's
    // process group). A host that went away takes the command with it (nobody would read its output),
    // unless the command is detached: then only its container's end ends it.
    private static int Supervise(int child, int status, bool detached)
    {
        var pidfd = (int)syscall(SYS_pidfd_open, child, 0, 0, 0, 0, 0);
        var fds = stackalloc PollFd[2];
        var hostOpen = status >= 0;
        var pending = "";
        var buffer = stackalloc byte[256];
        while (pidfd >= 0)
        {
            fds[0] = new PollFd { Fd = pidfd, Events = POLLIN };
            fds[1] = new PollFd { Fd = hostOpen ? status : -1, Events = POLLIN };
            if (poll(fds, 2, -1) < 0)
            {
                continue;
            }
            if (fds[0].Revents != 0)
            {
                break;
            }
            if (fds[1].Revents == 0)
            {
                continue;
            }
            var n = read(status, buffer, 256);
            if (n < 0 && Marshal.GetLastPInvokeError() == EINTR)
            {
                continue;
            }
            if (n <= 0)
            {
                hostOpen = false;
                if (!detached)
                {
                    _ = kill(-child, SIGKILL);
                    _ = syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, 0, 0, 0, 0);
                }
                continue;
            }
            pending += System.Text.Encoding.UTF8.GetString(buffer, (int)n);
            int newline;
            while ((newline = pending.IndexOf('\n', StringComparison.Ordinal)) >= 0)
            {
                var line = pending[..newline];
                pending = pending[(newline + 1)..];
                if (line.StartsWith(ExecProtocol.Kill + " ", StringComparison.Ordinal)
                    && int.TryParse(line.AsSpan(ExecProtocol.Kill.Length + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var signal))
                {
                    // The child is not reaped before this loop ends, so its pid (the group's id) is not reused;
                    // the pidfd still reaches a command that left the group.
                    _ = kill(-child, signal);
                    _ = syscall(SYS_pidfd_send_signal, pidfd, signal, 0, 0, 0, 0);
                }
            }
        }
        int wait;
        while (waitpid(child, &wait, 0) < 0 && Marshal.GetLastPInvokeError() == EINTR)
        {
        }
        return wait;
    }

    private static int Fail(int status, int code, string message)
    {
        Native.WriteAll(2, message + "\n");
        Say(status, $"{ExecProtocol.Failed} {code.ToString(CultureInfo.InvariantCulture)} {message}");
        return code;
    }

    private static void Say(int status, string line)
    {
        if (status >= 0)
        {
            Native.WriteAll(status, line + "\n");
        }
    }

    private static ExecConfig ReadExecConfig(string path) =>
        JsonSerializer.Deserialize(File.ReadAllBytes(path), ExecConfigJson.Default.ExecConfig)
        ?? throw new InitException($"exec: config {path}: empty");

    // The inner stage: already in the container's pid namespace, still in the host's others.
    public static int RunInner(string configPath)
    {
        _ = fcntl(ReportFd, F_SETFD, FD_CLOEXEC);
        // As the container's own processes (Stage2): not the node host's OOM score, whatever an operator gave it.
        Native.SetOomScoreAdjust(0);
        foreach (var ns in Namespaces)
        {
            _ = fcntl(ns.Fd, F_SETFD, FD_CLOEXEC);
        }
        try
        {
            var exec = ReadExecConfig(configPath);
            if (exec.Tty)
            {
                // Before the namespaces and the confinement: TIOCSCTTY needs nothing the container may lack.
                Terminal.TakeControlling("exec: ");
            }
            var config = exec.ApplyTo(Native.ReadConfig(exec.ContainerConfig));
            var lastCap = int.Parse(File.ReadAllText("/proc/sys/kernel/cap_last_cap").Trim(), CultureInfo.InvariantCulture);
            _ = umask(0);
            // Into the cgroups before the cgroup namespace: from inside it (v2) a move in from outside is refused.
            foreach (var procs in config.CgroupProcs)
            {
                Native.WriteFile(procs, "0", $"join cgroup {Path.GetDirectoryName(procs)}");
            }
            foreach (var ns in Namespaces)
            {
                if (ns.Type == CLONE_NEWNS)
                {
                    Native.Check(unshare(CLONE_FS), "unshare fs");
                }
                Native.Check(setns(ns.Fd, ns.Type), $"setns {ns.Name}");
                close(ns.Fd);
            }
            Stage2.ConfineAndExec(config, lastCap, createWorkingDir: false);
            return ExecProtocol.CannotRun; // not reached: ConfineAndExec execs or throws
        }
        catch (InitException e)
        {
            Native.WriteAll(ReportFd, e.Message + "\n");
            return ExecProtocol.CannotRun;
        }
        catch (Exception e)
        {
            Native.WriteAll(ReportFd, "exec: " + e.Message + "\n");
            return ExecProtocol.CannotRun;
        }
    }
}
