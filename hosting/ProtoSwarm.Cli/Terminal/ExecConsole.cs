using System.Runtime.InteropServices;
using static ProtoSwarm.Cli.Terminal.Interop.Libc;

namespace ProtoSwarm.Cli.Terminal;

/// <summary>
/// What an interactive `protoswarm exec` reads and writes: the process's own stdin, stdout and stderr as
/// raw byte streams (not .NET's Console, which edits lines and recodes text), and its terminal. Tests
/// give their own streams.
/// </summary>
internal sealed record ExecConsole(Func<Stream> Input, Func<Stream> Output, Func<Stream> Error, Func<bool> InputIsTerminal)
{
    public static ExecConsole Process { get; } = new(
        () => new DescriptorStream(0, FileAccess.Read),
        () => new DescriptorStream(1, FileAccess.Write),
        () => new DescriptorStream(2, FileAccess.Write),
        () => isatty(0) == 1)
    {
        OutputIsTerminal = () => isatty(1) == 1,
    };

    /// <summary>Whether stdout is a terminal (`image save` refuses to write an archive to one); tests' streams are not.</summary>
    public Func<bool> OutputIsTerminal { get; init; } = () => false;

    /// <summary>The terminal's size (stdout's, else stdin's, as docker asks), or null when neither is one.</summary>
    public static unsafe (ushort Rows, ushort Columns)? Size()
    {
        var size = stackalloc ushort[4];
        foreach (var fd in new[] { 1, 0 })
        {
            if (ioctl(fd, TIOCGWINSZ, size) == 0 && size[0] > 0 && size[1] > 0)
            {
                return (size[0], size[1]);
            }
        }

        return null;
    }

    /// <summary>Sends the terminal's size to <paramref name="client"/> on each SIGWINCH (`exec -t`, `run -t`, `start -a`) until disposed.</summary>
    public static PosixSignalRegistration FollowSize(ProtoSwarm.Client.Control.ExecStreamClient client) =>
        PosixSignalRegistration.Create(PosixSignal.SIGWINCH, signal =>
        {
            signal.Cancel = true;
            if (Size() is { } now)
            {
                _ = client.ResizeAsync(now.Rows, now.Columns);
            }
        });
}

/// <summary>
/// The CLI's terminal in raw mode for `exec -it` (docker's): keys, ^C included, go to the command's
/// terminal unprocessed and its output comes back as is. Disposing restores the saved settings, once;
/// SIGTERM, SIGHUP and SIGQUIT restore them too before the CLI dies of them.
/// </summary>
internal sealed unsafe class RawMode : IDisposable
{
    private readonly int _fd;
    private readonly byte[] _saved = new byte[TermiosBytes];
    private readonly List<PosixSignalRegistration> _signals = [];
    private int _restored;

    private RawMode(int fd) => _fd = fd;

    /// <summary>Puts <paramref name="fd"/> in raw mode; null when it is not a terminal.</summary>
    public static RawMode? Enter(int fd)
    {
        var mode = new RawMode(fd);
        var raw = new byte[TermiosBytes];
        fixed (byte* saved = mode._saved)
        fixed (byte* changed = raw)
        {
            if (tcgetattr(fd, saved) != 0)
            {
                return null;
            }

            Buffer.MemoryCopy(saved, changed, TermiosBytes, TermiosBytes);
            cfmakeraw(changed);
            foreach (var signal in new[] { PosixSignal.SIGTERM, PosixSignal.SIGHUP, PosixSignal.SIGQUIT })
            {
                mode._signals.Add(PosixSignalRegistration.Create(signal, _ => mode.Restore()));
            }

            if (tcsetattr(fd, TCSANOW, changed) != 0)
            {
                mode.Dispose();
                return null;
            }
        }

        return mode;
    }

    public void Dispose()
    {
        Restore();
        foreach (var signal in _signals)
        {
            signal.Dispose();
        }
    }

    private void Restore()
    {
        if (Interlocked.Exchange(ref _restored, 1) == 0)
        {
            fixed (byte* saved = _saved)
            {
                _ = tcsetattr(_fd, TCSANOW, saved);
            }
        }
    }
}
