using System.Diagnostics;
using ProtoSwarm.Networking;
using ProtoSwarm.Networking.Namespaces;

namespace ProtoSwarm.Tests.Networking;

/// <summary>
/// A network namespace made for one test (<c>psdns-test-&lt;random&gt;</c>, loopback up) with one
/// dedicated thread inside it (<see cref="NamespaceThread"/>) that runs the work it is given. Dispose
/// stops the thread and deletes the namespace, so nothing is left behind even when the test fails.
/// </summary>
internal sealed class TestNetns : INamespaceRunner, IDisposable
{
    private readonly NamespaceThread _thread;

    private TestNetns(string name)
    {
        Name = name;
        _thread = new NamespaceThread($"/run/netns/{name}", "netns " + name);
    }

    public string Name { get; }

    public static TestNetns Create(string prefix = "psdns-test")
    {
        var name = $"{prefix}-{Guid.NewGuid().ToString("n")[..8]}";
        Ip($"netns add {name}");
        try
        {
            Ip($"-n {name} link set lo up");
            return new TestNetns(name);
        }
        catch
        {
            Ip($"netns del {name}", check: false);
            throw;
        }
    }

    public Task<T> RunAsync<T>(Func<T> work) => _thread.RunAsync(work);

    /// <summary>
    /// Runs blocking work (a client waiting for an answer) on a new thread of its own in the namespace,
    /// so the runner's thread stays free for the server under test.
    /// </summary>
    public Task<T> RunOnNewThreadAsync<T>(Func<T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                Enter();
                done.SetResult(work());
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        }) { IsBackground = true };
        thread.Start();
        return done.Task;
    }

    /// <summary>Runs `ip -n NAME ARGS`.</summary>
    public string In(string args) => Ip($"-n {Name} {args}");

    public static string Ip(string args, bool check = true) => Run("ip", args, check);

    public static string Run(string file, string args, bool check = true)
    {
        var start = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (check && process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {args} failed ({process.ExitCode}): {error}");
        }

        return output;
    }

    public void Dispose()
    {
        _thread.Dispose();
        Ip($"netns del {Name}", check: false);
    }

    private void Enter()
    {
        using var fd = File.OpenHandle($"/run/netns/{Name}");
        if (Tmds.Linux.LibC.setns((int)fd.DangerousGetHandle(), Tmds.Linux.LibC.CLONE_NEWNET) != 0)
        {
            throw new InvalidOperationException($"setns into {Name} failed");
        }
    }
}
