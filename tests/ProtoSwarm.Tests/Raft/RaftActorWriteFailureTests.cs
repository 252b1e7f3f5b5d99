using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Proto;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Actors.Raft;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Runtime;
using ProtoSwarm.Persistence;
using ProtoSwarm.Persistence.Sealing;
using ProtoSwarm.Tests.Contracts;
using ProtoSwarm.Tests.Nodes;
using ProtoSwarm.Tests.Store;

namespace ProtoSwarm.Tests.Raft;

/// <summary>
/// A Raft peer whose log cannot be written (a full file system: a tmpfs of 1 MiB, filled) stops for good and says
/// why, never going on from the log it read at boot; every write it acknowledged is in the file.
/// </summary>
public sealed class RaftActorWriteFailureTests : IDisposable
{
    private const string ClusterId = "raft-write-failure";
    private readonly SmallTmpfs _disk = new("1m");

    public void Dispose() => _disk.Dispose();

    [Fact]
    public void A_Full_Disk_Is_Said_In_An_Operators_Words()
    {
        var full = RaftActor.FailureReason(new PersistenceException("write failed", new SqliteException("SQLite Error 13: 'database or disk is full'.", 13)), "/var/lib/protoswarm/raft.db");
        var other = RaftActor.FailureReason(new InvalidOperationException("boom"), "/var/lib/protoswarm/raft.db");

        Assert.Equal("the file system of its log /var/lib/protoswarm/raft.db is full (\"database or disk is full\"); free space on it, and the member starts again by itself", full);
        Assert.Equal("InvalidOperationException: boom (its log: /var/lib/protoswarm/raft.db)", other);
    }

    [Fact]
    public async Task A_Write_That_Finds_The_Disk_Full_Stops_The_Peer_And_Loses_No_Acknowledged_Write()
    {
        var path = Path.Combine(_disk.Path, "raft.db");
        using var key = DataKey.Generate();
        using var sealer = new Sealer(key);
        RaftBootstrap.Create(path, sealer, ClusterId, 1, [TestNodes.Cluster(ClusterId)], TestNodes.T0);
        var system = new ActorSystem();
        var (file, disk) = RaftLogFile.Open(path, ClusterId, 1, sealer);
        var pending = new RaftPending();
        var view = new RaftView(1);
        var failures = new List<string>();
        var settings = new RaftSettings(ClusterId, 1, file, disk, new SwarmStore(StoreState.Empty), pending, TimeProvider.System, NullLoggerFactory.Instance, view, system.Address, _ => null)
        {
            OnFailed = reason => { lock (failures) { failures.Add(reason); } },
        };
        var raft = system.Root.SpawnNamed(RaftActor.Props(settings), Kinds.Raft);
        var proposer = new RaftProposer(system.Root, raft, pending, TimeSpan.FromSeconds(5), TimeProvider.System);
        try
        {
            await Poll.Until(() => view.IsLeader, "the lone member leads", TestTimeout.Span);
            var acknowledged = new List<ulong>();
            for (var i = 0; i < 5; i++)
            {
                acknowledged.Add(await proposer.ProposeAsync([StoreChange.Create(TestNodes.Worker($"before{i}"))]));
            }

            _disk.Fill();
            StoreUnavailableException? refused = null;
            for (var i = 0; i < 200 && refused is null; i++)
            {
                try
                {
                    acknowledged.Add(await proposer.ProposeAsync([StoreChange.Create(TestNodes.Worker($"after{i}") with { Spec = TestNodes.Worker($"after{i}").Spec with { Labels = Labels(2000) } })]));
                }
                catch (StoreUnavailableException e)
                {
                    refused = e;
                }
            }

            Assert.NotNull(refused);
            Assert.Contains("Raft member stopped: the file system of its log " + path + " is full", refused.Message, StringComparison.Ordinal);
            lock (failures)
            {
                Assert.Equal([FailureText(path)], failures);
            }

            // Stopped for good: no tick makes it campaign again from the log it read at boot, no write is taken.
            var term = view.Term;
            await Task.Delay(TimeSpan.FromSeconds(1.5));
            Assert.Equal(term, view.Term);
            await Assert.ThrowsAnyAsync<Exception>(() => proposer.ProposeAsync([StoreChange.Create(TestNodes.Worker("late"))]));

            // The file, read back once there is room again, holds every write that was acknowledged.
            _disk.Free();

            await system.ShutdownAsync();
            file.Dispose();
            var (reread, back) = RaftLogFile.Open(path, ClusterId, 1, sealer);
            using (reread)
            {
                Assert.All(acknowledged, index => Assert.Contains(back.Entries, e => e.Index == index));
                Assert.True(back.HardState.Commit >= acknowledged.Max());
            }
        }
        finally
        {
            await system.ShutdownAsync();
            file.Dispose();
        }
    }

    private static string FailureText(string path) =>
        $"the file system of its log {path} is full (\"database or disk is full\"); free space on it, and the member starts again by itself";

    private static System.Collections.Immutable.ImmutableSortedDictionary<string, string> Labels(int bytes) =>
        System.Collections.Immutable.ImmutableSortedDictionary<string, string>.Empty.Add("pad", new string('x', bytes));
}
