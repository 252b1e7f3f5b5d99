using System.Net.Sockets;
using Microsoft.Win32.SafeHandles;

namespace ProtoSwarm.Containers.Runtime;

/// <summary>Every effect the launcher and the cgroup drivers have on the machine: files, directories,
/// starting protoswarm-init, reaping it. <see cref="LinuxSyscalls"/> is the real one; tests use a recording fake.</summary>
internal interface ISyscalls
{
    bool FileExists(string path);
    bool DirectoryExists(string path);
    string ReadFile(string path);
    void WriteFile(string path, string content);
    void CreateDirectory(string path);
    /// <summary>mkdir -p, then mode 0700 on the last directory whether it was made or found: only root may enter it.</summary>
    void CreatePrivateDirectory(string path);
    /// <summary>rmdir: a cgroup directory is removed this way, never recursively.</summary>
    void RemoveDirectory(string path);
    void RemoveTree(string path);

    /// <summary>Subdirectory names of a directory, none when it does not exist.</summary>
    IReadOnlyList<string> ListDirectories(string path);

    /// <summary>Starts the container of <paramref name="configPath"/> under a monitor: with
    /// <paramref name="shared"/>, the node host's shared monitor (<see cref="SharedMonitor"/>, started first
    /// when there is none; the result is then not this process's child); otherwise a protoswarm-init of its
    /// own, in its own session with the status socket on fd 3 (0-2 /dev/null).</summary>
    InitProcess SpawnInit(string initPath, string configPath, bool shared);

    /// <summary>Connects to a running monitor's socket; null when nobody listens there (any more).</summary>
    InitProcess? ConnectMonitor(string socketPath);

    /// <summary>waitpid: collects init (the monitor) after it reported the container's end.</summary>
    int Reap(int pid);

    void DeleteFile(string path);

    /// <summary>SIGKILL to the process <paramref name="pid"/> read from a cgroup.procs file, through a
    /// pidfd taken first and only while the pid is still listed in one of <paramref name="procsFiles"/>
    /// (it may have ended and its number been reused since). False when it was no longer there.</summary>
    bool KillCgroupMember(int pid, IReadOnlyList<string> procsFiles);

    /// <summary>SIGKILL to the monitor at the other end of <paramref name="monitor"/>'s socket, through the
    /// pidfd the socket names its peer by (SO_PEERPIDFD), never by a number that may have been reused.
    /// False when the monitor had already ended.</summary>
    bool KillMonitor(InitProcess monitor);

    /// <summary>bpf(BPF_PROG_LOAD) of a BPF_PROG_TYPE_CGROUP_DEVICE program (8 bytes an instruction) and
    /// bpf(BPF_PROG_ATTACH, BPF_CGROUP_DEVICE) of it to a cgroup v2 directory; the kernel keeps it there
    /// until the directory is removed. A program the verifier refuses throws with the verifier's log.</summary>
    void AttachDeviceFilter(string cgroupDirectory, byte[] program);

    /// <summary>Starts `protoswarm-init --exec` in its own session, the status socket on fd 3: with a
    /// <paramref name="terminal"/> (a slave side) that is its stdin, stdout and stderr; otherwise stdout and
    /// stderr go into pipes (or /dev/null with <paramref name="discardOutput"/>: exec -d, which must not die
    /// of a write once the host is gone) and stdin comes from a pipe (<paramref name="stdinPipe"/>) or /dev/null.</summary>
    ExecProcess SpawnExec(string initPath, string execConfigPath, bool stdinPipe = false, SafeFileHandle? terminal = null, bool discardOutput = false);

    /// <summary>A new pseudo-terminal in the devpts of the container whose PID 1 is <paramref name="containerPid"/>,
    /// unlocked and sized (0 leaves the kernel's size).</summary>
    ExecTerminal OpenTerminal(int containerPid, ushort rows, ushort columns);

    void ResizeTerminal(SafeFileHandle master, ushort rows, ushort columns);

    /// <summary>Whether this kernel has mount_setattr(2) (Linux 5.12 or later), which makes a read-only bind read-only with every
    /// mount under it: probed once, with arguments it refuses (EINVAL) when it exists, ENOSYS when it does not.</summary>
    bool SupportsRecursiveReadOnly();

    /// <summary>Makes the FIFO <paramref name="path"/> (0600) and opens it for writing without waiting for a reader, so it
    /// has a writer from now on (its reader sees end of file only once that is disposed): the container's stdin with
    /// docker's -i. Writes fail (EPIPE) while no process has it open for reading.</summary>
    Stream OpenStdinFifo(string path);

    /// <summary>dup: a second descriptor, so a terminal's master is read and written by two streams.</summary>
    SafeFileHandle Duplicate(SafeFileHandle handle);
}

/// <summary>A pseudo-terminal: the master the node host reads and writes, the slave the exec'd process gets, /dev/pts/Number.</summary>
internal sealed record ExecTerminal(SafeFileHandle Master, SafeFileHandle Slave, int Number);

/// <summary>protoswarm-init's monitor and the socket to it; IsChild when this process started it (and must reap it).</summary>
internal sealed record InitProcess(int Pid, Socket Status, bool IsChild = true);

/// <summary>A running `protoswarm-init --exec`: its status socket, the read ends of its output pipes
/// (empty streams on a terminal) and the write end of its stdin pipe when it has one.</summary>
internal sealed record ExecProcess(int Pid, Socket Status, Stream Stdout, Stream Stderr, Stream? Stdin = null);

/// <summary>A failed libc call, with the call and errno's text.</summary>
internal sealed class SyscallException(string call, int errno)
    : IOException($"{call}: {Interop.Libc.StrError(errno)}")
{
    public int Errno { get; } = errno;
}
