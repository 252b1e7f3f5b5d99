using System.Diagnostics;
using ProtoSwarm.Hosting;

namespace ProtoSwarm.Tests.Hosting;

/// <summary>
/// One protoswarmd per state directory: a second one on the same directory (with its own control socket) ran beside
/// the first until session 41, reattaching to its containers and, on a manager, opening the same raft.db as the same member.
/// flock locks belong to open file descriptions, so two acquisitions in this one process conflict as two processes would.
/// </summary>
public sealed class StateDirectoryLockTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("protoswarm-statelock-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_Second_Holder_Is_Refused_Naming_The_Directory_And_The_First_Ones_Pid()
    {
        using var first = StateDirectoryLock.Acquire(_dir);

        var refused = Assert.Throws<InvalidOperationException>(() => StateDirectoryLock.Acquire(_dir));

        Assert.Equal(
            $"another protoswarmd (pid {Environment.ProcessId}) is running on the state directory {_dir}; stop it first, or give this one another --state.",
            refused.Message);
    }

    [Fact]
    public void Released_When_Disposed_And_Taken_Again_With_The_Same_File()
    {
        using (StateDirectoryLock.Acquire(_dir))
        {
        }

        using var again = StateDirectoryLock.Acquire(_dir);
        Assert.Equal(Path.Combine(_dir, StateDirectoryLock.FileName), again.Path);
    }

    [Fact]
    public void A_Process_Started_While_Holding_It_Does_Not_Keep_It()
    {
        // The node starts container monitors that outlive a restart of the node host: they must not inherit the lock.
        Process child;
        using (StateDirectoryLock.Acquire(_dir))
        {
            child = Process.Start(new ProcessStartInfo("sleep", "30") { UseShellExecute = false })!;
        }

        try
        {
            using var next = StateDirectoryLock.Acquire(_dir);
            Assert.False(child.HasExited);
        }
        finally
        {
            child.Kill();
            child.WaitForExit();
            child.Dispose();
        }
    }

    [Fact]
    public void A_Directory_That_Cannot_Hold_The_File_Is_Refused_With_Its_Path()
    {
        var missing = Path.Combine(_dir, "no-such-dir");

        var refused = Assert.Throws<InvalidOperationException>(() => StateDirectoryLock.Acquire(missing));

        Assert.StartsWith($"cannot open {Path.Combine(missing, StateDirectoryLock.FileName)} (", refused.Message);
    }
}
