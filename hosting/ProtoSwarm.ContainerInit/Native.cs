using System.Runtime.InteropServices;
using System.Text;
using ProtoSwarm.ContainerInit.Interop;

namespace ProtoSwarm.ContainerInit;

// A failed step: the message the task shows ("pivot_root: Operation not permitted").
internal sealed class InitException(string message) : Exception(message)
{
    public static InitException FromErrno(string step, int errno) => new($"{step}: {Native.StrError(errno)}");
}

internal static unsafe class Native
{
    public static string StrError(int errno) => Marshal.PtrToStringUTF8((nint)Libc.strerror(errno)) ?? $"errno {errno}";

    public static void Check(int rc, string step)
    {
        if (rc < 0)
        {
            throw InitException.FromErrno(step, Marshal.GetLastPInvokeError());
        }
    }

    /// <summary>CLOCK_MONOTONIC in milliseconds.</summary>
    public static long Milliseconds()
    {
        Libc.TimeSpec time;
        _ = Libc.clock_gettime(Libc.CLOCK_MONOTONIC, &time);
        return time.Seconds * 1000 + time.Nanoseconds / 1_000_000;
    }

    public static void Check(long rc, string step) => Check(rc < 0 ? -1 : 0, step);

    public static void WriteAll(int fd, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        fixed (byte* p = bytes)
        {
            var done = 0;
            while (done < bytes.Length)
            {
                var n = Libc.write(fd, p + done, bytes.Length - done);
                if (n < 0 && Marshal.GetLastPInvokeError() == Libc.EINTR)
                {
                    continue;
                }
                if (n <= 0)
                {
                    return;
                }
                done += (int)n;
            }
        }
    }

    /// <summary>
    /// This process's bias for the kernel's OOM killer (/proc/self/oom_score_adj, -1000 to 1000), inherited by what it
    /// starts. Best effort: lowering it needs CAP_SYS_RESOURCE; raising it needs nothing.
    /// </summary>
    public static void SetOomScoreAdjust(int value)
    {
        var fd = Libc.open("/proc/self/oom_score_adj", Libc.O_WRONLY | Libc.O_CLOEXEC, 0);
        if (fd < 0)
        {
            return;
        }

        WriteAll(fd, value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Libc.close(fd);
    }

    public static void WriteFile(string path, string content, string step, uint mode = 0x1A4 /* 0644 */)
    {
        var fd = Libc.open(path, Libc.O_WRONLY | Libc.O_CREAT | Libc.O_TRUNC | Libc.O_CLOEXEC, mode);
        Check(fd, step);
        try
        {
            var bytes = Encoding.UTF8.GetBytes(content);
            fixed (byte* p = bytes)
            {
                Check((int)Libc.write(fd, p, bytes.Length), step);
            }
        }
        finally
        {
            Libc.close(fd);
        }
    }

    public static void MkdirAll(string path, uint mode = 0x1ED /* 0755 */)
    {
        if (path.Length == 0 || path == "/")
        {
            return;
        }
        if (Libc.mkdir(path, mode) == 0)
        {
            return;
        }
        var errno = Marshal.GetLastPInvokeError();
        if (errno == Libc.EEXIST)
        {
            return;
        }
        if (errno == Libc.ENOENT)
        {
            MkdirAll(Path.GetDirectoryName(path) ?? "/", mode);
            if (Libc.mkdir(path, mode) == 0 || Marshal.GetLastPInvokeError() == Libc.EEXIST)
            {
                return;
            }
        }
        throw InitException.FromErrno($"mkdir {path}", Marshal.GetLastPInvokeError());
    }

    /// <summary>A NULL-terminated array of C strings; never freed (the process execs or exits soon).</summary>
    public static byte** CStrings(IReadOnlyList<string> items)
    {
        var array = (byte**)NativeMemory.AllocZeroed((nuint)(items.Count + 1), (nuint)sizeof(nint));
        for (var i = 0; i < items.Count; i++)
        {
            var bytes = Encoding.UTF8.GetBytes(items[i]);
            var s = (byte*)NativeMemory.AllocZeroed((nuint)bytes.Length + 1);
            bytes.CopyTo(new Span<byte>(s, bytes.Length));
            array[i] = s;
        }
        return array;
    }

    /// <summary>Reads a pipe to its end (a close-on-exec report pipe: empty when the exec succeeded).</summary>
    public static string ReadToEnd(int fd)
    {
        var text = new StringBuilder();
        var buffer = stackalloc byte[1024];
        while (true)
        {
            var n = Libc.read(fd, buffer, 1024);
            if (n < 0 && Marshal.GetLastPInvokeError() == Libc.EINTR)
            {
                continue;
            }
            if (n <= 0)
            {
                return text.ToString();
            }
            text.Append(Encoding.UTF8.GetString(buffer, (int)n));
        }
    }

    public static InitConfig ReadConfig(string path)
    {
        try
        {
            return InitConfigReader.Read(File.ReadAllBytes(path));
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or FormatException)
        {
            throw new InitException($"config {path}: {e.Message}");
        }
    }
}
