using System.Net.Sockets;
using System.Text;
using Microsoft.Win32.SafeHandles;
using ProtoSwarm.Containers.Runtime;

namespace ProtoSwarm.Tests.Containers.Runtime;

/// <summary>An in-memory machine: files and directories in dictionaries, every effect recorded in
/// order, and a scripted init at the other end of a real socket pair.</summary>
internal sealed class RecordingSyscalls : ISyscalls
{
    public Dictionary<string, string> Files { get; } = new(StringComparer.Ordinal);
    public HashSet<string> Directories { get; } = new(StringComparer.Ordinal);
    public List<string> Calls { get; } = [];

    /// <summary>The calls so far, copied under the lock that background work (a reaper) records under too.</summary>
    public List<string> CallsSnapshot()
    {
        lock (Calls)
        {
            return [.. Calls];
        }
    }

    private void Record(string call)
    {
        lock (Calls)
        {
            Calls.Add(call);
        }
    }
    public List<string> InitSays { get; } = [];
    public Socket? InitSide { get; private set; }

    public bool FileExists(string path) => Files.ContainsKey(path);
    public bool DirectoryExists(string path) => Directories.Contains(path);

    /// <summary>Whether the fake kernel has mount_setattr(2); true as on any kernel since 5.12.</summary>
    public bool RecursiveReadOnly { get; set; } = true;

    public bool SupportsRecursiveReadOnly() => RecursiveReadOnly;

    public string ReadFile(string path) =>
        Files.TryGetValue(path, out var content) ? content : throw new FileNotFoundException(path);

    /// <summary>Files whose write fails as the kernel's refusal does (an IOException), recorded first.</summary>
    public HashSet<string> FailingWrites { get; } = new(StringComparer.Ordinal);

    public void WriteFile(string path, string content)
    {
        Record($"write {path} = {content}");
        if (FailingWrites.Contains(path))
        {
            throw new IOException($"{path}: Resource temporarily unavailable");
        }
        Files[path] = content;
    }

    public void CreateDirectory(string path)
    {
        Record($"mkdir {path}");
        for (var dir = path; dir.Length > 1; dir = Path.GetDirectoryName(dir)!)
        {
            Directories.Add(dir);
        }
    }

    public void CreatePrivateDirectory(string path)
    {
        CreateDirectory(path);
        Record($"chmod 700 {path}");
    }

    public void RemoveDirectory(string path)
    {
        Record($"rmdir {path}");
        Directories.Remove(path);
    }

    public void RemoveTree(string path)
    {
        Record($"rm -r {path}");
        Directories.RemoveWhere(d => d == path || d.StartsWith(path + "/", StringComparison.Ordinal));
    }

    public IReadOnlyList<string> ListDirectories(string path) =>
        [.. Directories.Where(d => Path.GetDirectoryName(d) == path).Select(Path.GetFileName).OfType<string>()];

    public InitProcess SpawnInit(string initPath, string configPath, bool shared)
    {
        Record($"spawn {initPath} {configPath}{(shared ? " shared" : "")}");
        return new InitProcess(4242, Pair(), IsChild: !shared);
    }

    /// <summary>Sockets with a monitor listening (ConnectMonitor answers with InitSays on a fresh pair).</summary>
    public HashSet<string> Listening { get; } = new(StringComparer.Ordinal);

    public InitProcess? ConnectMonitor(string socketPath)
    {
        Record($"connect {socketPath}");
        return Listening.Contains(socketPath) ? new InitProcess(5151, Pair(), IsChild: false) : null;
    }

    private Socket Pair()
    {
        var endpoint = new UnixDomainSocketEndPoint("\0protoswarm-test-" + Guid.NewGuid().ToString("N"));
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(endpoint);
        listener.Listen(1);
        var host = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        host.Connect(endpoint);
        var side = listener.Accept();
        foreach (var line in InitSays)
        {
            side.Send(Encoding.ASCII.GetBytes(line + "\n"));
        }
        // Published only once the scripted lines are sent: a test that waits for InitSide to shut it
        // down must not cut them off.
        InitSide = side;
        return host;
    }

    public void Say(string line) => InitSide!.Send(Encoding.ASCII.GetBytes(line + "\n"));

    public string Heard()
    {
        var buffer = new byte[256];
        var n = InitSide!.Receive(buffer);
        return Encoding.ASCII.GetString(buffer, 0, n);
    }

    public int Reap(int pid)
    {
        Record($"reap {pid}");
        return 0;
    }

    public void DeleteFile(string path)
    {
        Record($"rm {path}");
        Files.Remove(path);
    }

    public bool KillMonitor(InitProcess monitor)
    {
        Record($"kill monitor {monitor.Pid}");
        return true;
    }

    /// <summary>Kills a member the way the kernel would: it leaves every cgroup.procs file that listed it.</summary>
    public bool KillCgroupMember(int pid, IReadOnlyList<string> procsFiles)
    {
        Record($"kill -9 {pid}");
        var listed = false;
        foreach (var file in procsFiles)
        {
            if (Files.TryGetValue(file, out var text))
            {
                var pids = text.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
                listed |= pids.Remove(pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
                Files[file] = string.Concat(pids.Select(p => p + "\n"));
            }
        }
        return listed;
    }

    /// <summary>The device filters attached, by cgroup directory.</summary>
    public Dictionary<string, byte[]> DeviceFilters { get; } = new(StringComparer.Ordinal);

    /// <summary>Set to make the attach fail as a kernel without CONFIG_CGROUP_BPF does.</summary>
    public int? DeviceFilterErrno { get; set; }

    public void AttachDeviceFilter(string cgroupDirectory, byte[] program)
    {
        if (DeviceFilterErrno is { } errno)
        {
            throw new SyscallException("bpf attach device filter", errno);
        }
        Record($"bpf attach-device {cgroupDirectory} ({program.Length / 8} instructions)");
        DeviceFilters[cgroupDirectory] = program;
    }

    /// <summary>What the scripted exec prints; its status lines are <see cref="InitSays"/>, as for init.</summary>
    public byte[] ExecStdout { get; set; } = [];
    public byte[] ExecStderr { get; set; } = [];

    public ExecProcess SpawnExec(string initPath, string execConfigPath, bool stdinPipe = false, SafeFileHandle? terminal = null, bool discardOutput = false)
    {
        Record($"spawn-exec {initPath} {execConfigPath}{(discardOutput ? " discard-output" : "")}");
        var init = SpawnInit(initPath, execConfigPath, shared: false);
        Calls.RemoveAt(Calls.Count - 1);
        return new ExecProcess(init.Pid, init.Status, new MemoryStream(ExecStdout), new MemoryStream(ExecStderr));
    }

    public ExecTerminal OpenTerminal(int containerPid, ushort rows, ushort columns) =>
        throw new NotSupportedException("the recording fake opens no terminals; exec -t is tested as root against real containers");

    public void ResizeTerminal(SafeFileHandle master, ushort rows, ushort columns) =>
        throw new NotSupportedException("the recording fake opens no terminals");

    public Stream OpenStdinFifo(string path)
    {
        Record($"mkfifo {path}");
        return new MemoryStream();
    }

    public SafeFileHandle Duplicate(SafeFileHandle handle) =>
        throw new NotSupportedException("the recording fake opens no terminals");
}
