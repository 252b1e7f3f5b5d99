using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace ProtoSwarm.Benchmarks;

/// <summary>
/// What a benchmark starts outside itself (member processes, their data dirs) must not outlive it, because
/// a benchmark is often stopped with Ctrl-C: each owner registers its synchronous, idempotent stop, which
/// runs on SIGINT, SIGTERM, SIGQUIT, process exit and an unhandled exception, unless it was forgotten first.
/// </summary>
internal static class ExitCleanup
{
    private static readonly ConcurrentDictionary<object, Action> Stops = new();
    private static readonly Lock RegistrationLock = new();
    private static List<PosixSignalRegistration>? _signalRegistrations;

    public static void Register(object owner, Action stop)
    {
        lock (RegistrationLock)
        {
            if (_signalRegistrations is null)
            {
                // Not cancelling the signal keeps its default effect (the process ends) after the cleanup.
                _signalRegistrations =
                [
                    PosixSignalRegistration.Create(PosixSignal.SIGINT, _ => StopAll()),
                    PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => StopAll()),
                    PosixSignalRegistration.Create(PosixSignal.SIGQUIT, _ => StopAll()),
                ];
                AppDomain.CurrentDomain.ProcessExit += (_, _) => StopAll();
                AppDomain.CurrentDomain.UnhandledException += (_, _) => StopAll();
            }
        }

        Stops.TryAdd(owner, stop);
    }

    /// <summary>The owner stopped on its own.</summary>
    public static void Forget(object owner) => Stops.TryRemove(owner, out _);

    /// <summary>Kills a child and everything it started, waits a little for it, and releases it; one already gone is fine.</summary>
    public static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            process.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
        finally
        {
            process.Dispose();
        }
    }

    private static void StopAll()
    {
        foreach (var stop in Stops.Values)
        {
            stop();
        }
    }
}
