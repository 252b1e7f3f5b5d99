using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace ProtoSwarm.Tests.Containers.Runtime;

/// <summary>
/// A pseudo-terminal the test owns (openpty), and a program started on it as a user's shell would:
/// in a session of its own, the terminal as its stdin, stdout and stderr. What the program writes is
/// collected as it comes; <see cref="Type"/> is typing on its keyboard.
/// </summary>
internal sealed class TestPty : IDisposable
{
    private const int POSIX_SPAWN_SETSID = 0x80;
    private const int TermiosBytes = 60;

    private readonly int _master;
    private readonly int _slave;
    private readonly FileStream _keyboard;
    private readonly StringBuilder _screen = new();
    private readonly Thread _reader;

    public TestPty(ushort rows, ushort columns)
    {
        var size = new Winsize { Rows = rows, Columns = columns };
        if (openpty(out _master, out _slave, 0, 0, ref size) != 0)
        {
            throw new IOException($"openpty: errno {Marshal.GetLastPInvokeError()}");
        }

        _keyboard = new FileStream(new SafeFileHandle(dup(_master), ownsHandle: true), FileAccess.Write, 0);
        _reader = new Thread(Read) { IsBackground = true };
        _reader.Start();
    }

    public string Screen
    {
        get
        {
            lock (_screen)
            {
                return _screen.ToString();
            }
        }
    }

    /// <summary>The terminal's settings (struct termios), as the program's own side has them.</summary>
    public byte[] Settings()
    {
        var termios = new byte[TermiosBytes];
        return tcgetattr(_slave, termios) == 0 ? termios : throw new IOException($"tcgetattr: errno {Marshal.GetLastPInvokeError()}");
    }

    public int Start(string program, IEnumerable<string> args, IDictionary<string, string> extraEnv)
    {
        var actions = Marshal.AllocHGlobal(256);
        var attr = Marshal.AllocHGlobal(512);
        try
        {
            Check(posix_spawn_file_actions_init(actions));
            // Opened by name in the new session: the terminal becomes its controlling one, so the kernel
            // sends it SIGWINCH on a resize, and ^C would be SIGINT to it unless it went raw.
            var name = new FileInfo($"/proc/self/fd/{_slave}").LinkTarget ?? throw new IOException("the pty's slave has no name");
            Check(posix_spawn_file_actions_addopen(actions, 0, name, 2 /* O_RDWR */, 0));
            Check(posix_spawn_file_actions_adddup2(actions, 0, 1));
            Check(posix_spawn_file_actions_adddup2(actions, 0, 2));

            Check(posix_spawnattr_init(attr));
            Check(posix_spawnattr_setflags(attr, (short)POSIX_SPAWN_SETSID));
            var env = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
                .Where(e => !extraEnv.ContainsKey((string)e.Key))
                .Select(e => $"{e.Key}={e.Value}")
                .Concat(extraEnv.Select(e => $"{e.Key}={e.Value}"))
                .ToList();
            string?[] argv = [program, .. args, null];
            string?[] envp = [.. env, null];
            Check(posix_spawn(out var pid, program, actions, attr, argv, envp));
            return pid;
        }
        finally
        {
            _ = posix_spawn_file_actions_destroy(actions);
            _ = posix_spawnattr_destroy(attr);
            Marshal.FreeHGlobal(actions);
            Marshal.FreeHGlobal(attr);
        }
    }

    /// <summary>The terminal's window changes, as when a user resizes it.</summary>
    public void Resize(ushort rows, ushort columns)
    {
        var size = new Winsize { Rows = rows, Columns = columns };
        if (ioctl(_master, 0x5414 /* TIOCSWINSZ */, ref size) != 0)
        {
            throw new IOException($"TIOCSWINSZ: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    public void Type(string keys)
    {
        _keyboard.Write(Encoding.UTF8.GetBytes(keys));
        _keyboard.Flush();
    }

    /// <summary>Waits until the screen shows <paramref name="text"/>; false after <paramref name="timeout"/>.</summary>
    public async Task<bool> ShowsAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Screen.Contains(text, StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(50);
        }

        return true;
    }

    /// <summary>The program's exit code (128 + signal), waiting at most <paramref name="timeout"/>; null if it still runs.</summary>
    public static async Task<int?> WaitAsync(int pid, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var reaped = waitpid(pid, out var status, 1 /* WNOHANG */);
            if (reaped == pid)
            {
                return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f);
            }

            await Task.Delay(50);
        }

        return null;
    }

    public static void Kill(int pid) => _ = kill(pid, 9);

    public void Dispose()
    {
        _keyboard.Dispose();
        _ = close(_slave);
        _ = close(_master);
    }

    private void Read()
    {
        var buffer = new byte[4096];
        while (true)
        {
            var n = read(_master, buffer, buffer.Length);
            if (n <= 0)
            {
                return;
            }

            lock (_screen)
            {
                _screen.Append(Encoding.UTF8.GetString(buffer, 0, (int)n));
            }
        }
    }

    private static void Check(int rc)
    {
        if (rc != 0)
        {
            throw new IOException($"posix_spawn: errno {rc}");
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Winsize
    {
        public ushort Rows;
        public ushort Columns;
        public ushort XPixels;
        public ushort YPixels;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int openpty(out int master, out int slave, nint name, nint termios, ref Winsize size);

    [DllImport("libc", SetLastError = true)]
    private static extern int dup(int fd);

    [DllImport("libc", SetLastError = true)]
    private static extern int close(int fd);

    [DllImport("libc", SetLastError = true)]
    private static extern nint read(int fd, byte[] buffer, nint count);

    [DllImport("libc", SetLastError = true)]
    private static extern int tcgetattr(int fd, byte[] termios);

    [DllImport("libc", SetLastError = true)]
    private static extern int waitpid(int pid, out int status, int options);

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    [DllImport("libc")]
    private static extern int posix_spawn_file_actions_init(nint actions);

    [DllImport("libc", SetLastError = true)]
    private static extern int ioctl(int fd, ulong request, ref Winsize size);

    [DllImport("libc", CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern int posix_spawn_file_actions_addopen(nint actions, int fd, [MarshalAs(UnmanagedType.LPStr)] string path, int flags, int mode);

    [DllImport("libc")]
    private static extern int posix_spawn_file_actions_adddup2(nint actions, int fd, int newFd);

    [DllImport("libc")]
    private static extern int posix_spawn_file_actions_destroy(nint actions);

    [DllImport("libc")]
    private static extern int posix_spawnattr_init(nint attr);

    [DllImport("libc")]
    private static extern int posix_spawnattr_setflags(nint attr, short flags);

    [DllImport("libc")]
    private static extern int posix_spawnattr_destroy(nint attr);

    [DllImport("libc", CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern int posix_spawn(out int pid, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, nint actions, nint attr,
        [MarshalAs(UnmanagedType.LPArray, ArraySubType = UnmanagedType.LPStr)] string?[] argv,
        [MarshalAs(UnmanagedType.LPArray, ArraySubType = UnmanagedType.LPStr)] string?[] envp);
}
