using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Proto;
using Proto.Remote;
using Proto.Remote.GrpcNet;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Actors.Raft;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Runtime;
using ProtoSwarm.Networking.Remote;
using ProtoSwarm.Persistence;
using ProtoSwarm.Persistence.Sealing;
using ProtoSwarm.Raft;
using ProtoSwarm.Registry.Server;
using ProtoSwarm.Tests.Contracts;
using ProtoSwarm.Tests.Nodes;
using ProtoSwarm.Tests.Store;

namespace ProtoSwarm.Tests.Raft;

/// <summary>
/// The Raft actor as managers run it: real actor systems talking over Proto.Remote on loopback,
/// each with its own raft.db (fsync on, sealed with its own data key) and store replica, in one
/// test process.
/// </summary>
[Trait("Category", "Cluster")]
public sealed class RaftActorClusterTests : IAsyncLifetime
{
    private const string ClusterId = "raft-actor-tests";
    private readonly TempDir _dir = new();
    private readonly ConcurrentDictionary<ulong, string> _addresses = new();
    private readonly List<Member> _members = [];
    private readonly ConcurrentDictionary<ulong, Sealer> _sealers = new();

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>xunit 2 ends a test class through <see cref="IAsyncLifetime"/> (an IAsyncDisposable alone is never called):
    /// each test's three members stop here, or they would run on, ticking, through the rest of the suite.</summary>
    public async Task DisposeAsync()
    {
        foreach (var member in _members)
        {
            await member.StopAsync();
        }

        foreach (var sealer in _sealers.Values)
        {
            sealer.Dispose();
        }

        _dir.Dispose();
    }

    [Fact]
    public async Task Writes_Through_The_Leader_Reach_Every_Replica_In_Order()
    {
        var (leader, others) = await StartThreeAsync(s => s);

        await Task.WhenAll(Enumerable.Range(0, 200).Select(i => leader.Proposer.ProposeAsync([StoreChange.Create(TestNodes.Worker($"w{i:000}"))])));

        await Poll.Until(() => others.All(o => o.Store.Current.List<NodeObject>().Count() == 200), "both followers apply all 200 writes", TestTimeout.Span);
        var expected = Versions(leader);
        Assert.All(others, o => Assert.Equal(expected, Versions(o)));
    }

    [Fact]
    public async Task A_Write_Is_Acknowledged_Only_Once_The_Leaders_Own_Log_File_Holds_It()
    {
        // The leader writes the entries it has sent on another thread (RaftActor.PersistOffThreadAsync);
        // its answer must still wait for that write, as for a follower's.
        var (leader, others) = await StartThreeAsync(s => s);

        using var reader = new RaftLogFile(leader.Path, SealerOf(1));
        for (var i = 0; i < 30; i++)
        {
            var index = await leader.Proposer.ProposeAsync([StoreChange.Create(TestNodes.Worker($"d{i:00}"))]);

            var disk = reader.Load();
            Assert.Contains(disk.Entries, e => e.Index == index);
        }
    }

    [Fact]
    public async Task Concurrent_Writes_Are_Acknowledged_Only_Once_The_Leaders_Own_Log_File_Holds_Them()
    {
        // Under concurrent writes a leader's Ready both sends new entries (written on another
        // thread, RaftActor.PersistOffThreadAsync) and commits earlier ones: every answered write
        // must already be in its log file.
        var (leader, others) = await StartThreeAsync(s => s);

        using var reader = new RaftLogFile(leader.Path, SealerOf(1));
        var missing = new ConcurrentBag<ulong>();
        await Task.WhenAll(Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 15; i++)
            {
                var index = await leader.Proposer.ProposeAsync([StoreChange.Create(TestNodes.Worker($"c{w:00}-{i:00}"))]);
                lock (reader)
                {
                    if (!reader.Load().Entries.Any(e => e.Index == index))
                    {
                        missing.Add(index);
                    }
                }
            }
        })));

        Assert.Empty(missing);
        await Poll.Until(() => others.All(o => o.Store.Current.List<NodeObject>().Count() == 240), "both followers apply all 240 writes", TestTimeout.Span);
        var expected = Versions(leader);
        Assert.All(others, o => Assert.Equal(expected, Versions(o)));
    }

    [Fact]
    public async Task A_Lone_Write_Reaches_The_Followers_Though_No_Later_Append_Carries_Its_Commit()
    {
        // The leader holds a commit-only append back for the next append to that follower or the
        // next tick: with no write after this one, the tick (its held append, or its heartbeat,
        // which carries the commit too) must deliver it.
        var (leader, others) = await StartThreeAsync(s => s);

        var index = await leader.Proposer.ProposeAsync([StoreChange.Create(TestNodes.Worker("lone"))]);

        await Poll.Until(() => others.All(o => o.Store.Current.Get<NodeObject>("lone") is not null && o.View.CaughtUp), "both followers apply the lone write", TestTimeout.Span);
        Assert.All(others, o => Assert.Equal(index, o.Store.Current.Index));
    }

    [Fact]
    public async Task A_Write_Proposed_On_A_Follower_Learns_Its_Commit_Without_Waiting_For_A_Tick()
    {
        // Ticks of a second: a commit-only append the leader held back until the next tick, or the
        // tick's heartbeat, would cost each of these writes half a second on average.
        var slow = (RaftSettings s) => s with { TickInterval = TimeSpan.FromSeconds(1) };
        var (leader, followers) = await StartThreeAsync(slow);

        var watch = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < 5; i++)
        {
            await followers[0].Proposer.ProposeAsync([StoreChange.Create(TestNodes.Worker($"from-follower-{i}"))]);
        }

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1.5), $"5 writes on a follower took {watch.Elapsed.TotalMilliseconds:0} ms");
        Assert.Equal(5, followers[0].Store.Current.List<NodeObject>().Count(n => n.Id.StartsWith("from-follower-", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_Member_Far_Behind_Catches_Up_By_A_Snapshot_Sent_In_Chunks()
    {
        RaftSettings Small(RaftSettings s) => s with { SnapshotInterval = 40, KeepAfterSnapshot = 5, SnapshotChunkBytes = 700 };
        var leader = await StartAsync(1, Small);
        var second = await StartAsync(2, Small);
        await AddAsync(leader, second.Id);
        for (var i = 0; i < 150; i++)
        {
            await leader.Proposer.ProposeAsync([StoreChange.Create(TestNodes.Worker($"w{i:000}"))]);
        }

        // The leader's log now starts after a snapshot: a new member can only be sent that snapshot.
        var late = await StartAsync(3, Small);
        await AddAsync(leader, late.Id);

        await Poll.Until(() => late.Store.Current.List<NodeObject>().Count() == 150, "the late member has every object", TestTimeout.Span);
        Assert.Equal(Versions(leader), Versions(late));
        // Stopped before its file is read again: its Raft actor may still be writing (a snapshot of its own, the next Ready).
        await late.StopAsync();
        _members.Remove(late);
        using var reopened = new RaftLogFile(late.Path, SealerOf(late.Id));
        Assert.True(reopened.Load().Snapshot.Metadata.Index > 0, "the late member installed a snapshot");
    }

    [Fact]
    public async Task The_Members_Take_Their_Snapshots_At_Different_Indexes_Not_All_At_Once()
    {
        RaftSettings Small(RaftSettings s) => s with { SnapshotInterval = 90 };
        var (leader, others) = await StartThreeAsync(Small);

        var members = new[] { leader, others[0], others[1] };
        var written = 0;
        async Task WriteUpTo(int count)
        {
            for (; written < count; written++)
            {
                await leader.Proposer.ProposeAsync([StoreChange.Create(TestNodes.Worker($"w{written:000}"))]);
            }

            await Poll.Until(() => members.All(m => m.Store.Current.List<NodeObject>().Count() == count), $"every member applied {count} writes", TestTimeout.Span);
        }

        // The log holds the bootstrap snapshot at 1, the leader's first entry and four membership
        // changes, so write w puts the log at 6 + w. At 106: past the interval (90 entries after
        // the snapshot at 1) but short of the second voter's 120: only the first voter (member 1,
        // which leads here) has taken its snapshot.
        await WriteUpTo(100);
        await Poll.Until(() => leader.View.SnapshotIndex >= 91, "member 1 took a snapshot", TestTimeout.Span);
        Assert.All(others, o => Assert.True(o.View.SnapshotIndex <= 1, $"member {o.Id} took a snapshot at {o.View.SnapshotIndex} already"));

        // At 136: past the second voter's 120, short of the third's 150.
        await WriteUpTo(130);
        await Poll.Until(() => others[0].View.SnapshotIndex >= 121, "member 2 took a snapshot", TestTimeout.Span);
        Assert.True(others[1].View.SnapshotIndex <= 1, $"member 3 took a snapshot at {others[1].View.SnapshotIndex} already");

        await WriteUpTo(160);
        await Poll.Until(() => others[1].View.SnapshotIndex >= 151, "member 3 took a snapshot", TestTimeout.Span);
        Assert.Equal(Versions(leader), Versions(others[1]));
    }

    [Fact]
    public async Task The_Commit_Index_Reaches_Each_File_After_The_Writes_And_Is_Never_Behind_Its_Snapshot()
    {
        // A Ready that only moves the commit index is written without an fsync of its own: it must
        // still reach the file, and a restart must never find a snapshot beyond the commit index
        // (RaftActor.OnSnapshotStored refuses such a snapshot).
        RaftSettings Small(RaftSettings s) => s with { SnapshotInterval = 40 };
        var (leader, others) = await StartThreeAsync(Small);

        var members = new[] { leader, others[0], others[1] };
        var last = 0UL;
        for (var i = 0; i < 120; i++)
        {
            last = await leader.Proposer.ProposeAsync([StoreChange.Create(TestNodes.Worker($"k{i:000}"))]);
        }

        await Poll.Until(() => members.All(m => m.Store.Current.List<NodeObject>().Count() == 120), "every member applied 120 writes", TestTimeout.Span);
        await Poll.Until(() => members.All(m => m.View.SnapshotIndex > 1), "every member took a snapshot", TestTimeout.Span);
        foreach (var member in members)
        {
            using var reader = new RaftLogFile(member.Path, SealerOf(member.Id));
            var disk = reader.Load();
            Assert.True(disk.HardState.Commit >= disk.Snapshot.Metadata.Index, $"member {member.Id}: commit {disk.HardState.Commit} on disk, snapshot at {disk.Snapshot.Metadata.Index}");
        }

        using var leaderFile = new RaftLogFile(leader.Path, SealerOf(1));
        await Poll.Until(() => leaderFile.Load().HardState.Commit >= last, $"the leader's file holds commit index {last}", TestTimeout.Span);
    }

    [Fact]
    public async Task A_Restarted_Member_Keeps_Its_Log_And_Catches_Up_With_What_It_Missed()
    {
        var leader = await StartAsync(1, s => s);
        var second = await StartAsync(2, s => s);
        var third = await StartAsync(3, s => s);
        await AddAsync(leader, second.Id);
        await AddAsync(leader, third.Id);
        for (var i = 0; i < 20; i++)
        {
            await leader.Proposer.ProposeAsync([StoreChange.Create(TestNodes.Worker($"a{i:00}"))]);
        }

        await Poll.Until(() => third.Store.Current.List<NodeObject>().Count() == 20, "the third member applied the first writes", TestTimeout.Span);
        await third.StopAsync();
        _members.Remove(third);
        for (var i = 0; i < 20; i++)
        {
            await leader.Proposer.ProposeAsync([StoreChange.Create(TestNodes.Worker($"b{i:00}"))]);
        }

        var restarted = await StartAsync(3, s => s);

        await Poll.Until(() => restarted.Store.Current.List<NodeObject>().Count() == 40, "the restarted member applied every write", TestTimeout.Span);
        Assert.Equal(Versions(leader), Versions(restarted));
    }

    [Fact]
    public async Task Every_Replica_Stamps_An_Object_With_Its_Proposers_Time_And_A_Restart_Keeps_It()
    {
        // Each manager's clock hours apart from the others', so a time taken at apply would show.
        static RaftSettings Skewed(RaftSettings s, int hours) => s with { Time = new SkewedTime(TimeSpan.FromHours(hours)) };
        var (leader, followers) = await StartThreeAsync(s => Skewed(s, (int)s.RaftId));

        var before = DateTimeOffset.UtcNow;
        await leader.Proposer.ProposeAsync([StoreChange.Create(TestNodes.Worker("w1"))]);
        var created = leader.Store.Current.Get<NodeObject>("w1")!;
        await followers[1].Proposer.ProposeAsync([StoreChange.Update(created.WithLabels(("zone", "a")))]);

        var members = new[] { leader, followers[0], followers[1] };
        await Poll.Until(() => members.All(m => m.Store.Current.Get<NodeObject>("w1")?.Spec.Labels.Count == 1), "every replica applied both writes", TestTimeout.Span);
        var meta = leader.Store.Current.Get<NodeObject>("w1")!.Meta;
        Assert.InRange(meta.CreatedAt - before, TimeSpan.FromMinutes(59), TimeSpan.FromMinutes(61));
        Assert.InRange(meta.UpdatedAt - before, TimeSpan.FromMinutes(179), TimeSpan.FromMinutes(181));
        Assert.All(members, m => Assert.Equal(meta, m.Store.Current.Get<NodeObject>("w1")!.Meta));

        // A restart applies the log again (the snapshot is older than both writes), at a later clock.
        var second = followers[0];
        await second.StopAsync();
        _members.Remove(second);
        var restarted = await StartAsync(second.Id, s => Skewed(s, 24));

        await Poll.Until(() => restarted.Store.Current.Get<NodeObject>("w1")?.Spec.Labels.Count == 1, "the restarted member applied both writes again", TestTimeout.Span);
        Assert.Equal(meta, restarted.Store.Current.Get<NodeObject>("w1")!.Meta);
    }

    [Fact]
    public async Task Registry_Metadata_Written_On_Followers_Reaches_The_Leader_And_Concurrent_Changes_Of_One_Repository_All_Land()
    {
        var (leader, followers) = await StartThreeAsync(s => s);

        var registries = followers.Select(f => new StoreRegistryMetadata(f.Store, f.Proposer)).ToArray();
        await Task.WhenAll(Enumerable.Range(0, 12).Select(i => Task.Run(async () =>
            await registries[i % 2].UpdateAsync("library/busybox", c => ProtoSwarm.Tests.Registry.StoreRegistryMetadataTests.Tagged(c, $"t{i:00}", $"sha256:{i:x64}"), TestTimeout.Token))));

        var members = new[] { leader, followers[0], followers[1] };
        await Poll.Until(() => members.All(m => m.Store.Current.Get<RepositoryObject>("library/busybox")?.Tags.Count == 12), "every replica holds the 12 tags", TestTimeout.Span);
        Assert.Single(members.Select(m => m.Store.Current.Get<RepositoryObject>("library/busybox")!.Meta.Version).Distinct());
    }

    private static string Versions(Member member) =>
        string.Join(",", member.Store.Current.List<NodeObject>().OrderBy(n => n.Id, StringComparer.Ordinal).Select(n => $"{n.Id}@{n.Meta.Version}"));

    private static async Task AddAsync(Member leader, ulong id)
    {
        await Poll.Until(() => leader.View.IsLeader, "member 1 leads", TestTimeout.Span);
        var answer = await leader.System.Root.RequestAsync<MembershipAnswer>(leader.Raft, new ProposeMembership(SwarmIds.NewRequestId(), new ConfChange(ConfChangeType.AddLearner, id, $"n{id}")), TestTimeout.Token);
        Assert.True(answer.Applied, answer.Reason);
        await Poll.Until(() => leader.View.Voters.Contains(id), $"member {id} votes", TestTimeout.Span);
    }

    /// <summary>One data key per member, kept across its restarts as keys/raft.dek keeps it.</summary>
    private Sealer SealerOf(ulong id) => _sealers.GetOrAdd(id, _ => { using var key = DataKey.Generate(); return new Sealer(key); });

    /// <summary>Member 1 bootstrapped and leading, members 2 and 3 added to it; all with <paramref name="tweak"/>.</summary>
    private async Task<(Member Leader, Member[] Others)> StartThreeAsync(Func<RaftSettings, RaftSettings> tweak)
    {
        var leader = await StartAsync(1, tweak);
        var others = new[] { await StartAsync(2, tweak), await StartAsync(3, tweak) };
        foreach (var other in others)
        {
            await AddAsync(leader, other.Id);
        }

        return (leader, others);
    }

    private async Task<Member> StartAsync(ulong id, Func<RaftSettings, RaftSettings> tweak)
    {
        var path = _dir.File($"raft-{id}.db");
        if (id == 1 && !File.Exists(path))
        {
            RaftBootstrap.Create(path, SealerOf(1), ClusterId, 1, [TestNodes.Cluster(ClusterId)], TestNodes.T0);
        }

        var system = new ActorSystem().WithRemote(RemoteConfig.BindTo("127.0.0.1").WithContractSerializer());
        await system.Remote().StartAsync();
        _addresses[id] = system.Address;
        var (file, disk) = RaftLogFile.Open(path, ClusterId, id, SealerOf(id));
        var store = new SwarmStore(StoreState.Empty);
        var pending = new RaftPending();
        var view = new RaftView(id);
        var settings = tweak(new RaftSettings(ClusterId, id, file, disk, store, pending, TimeProvider.System, NullLoggerFactory.Instance, view, system.Address, other => _addresses.GetValueOrDefault(other)));
        var raft = system.Root.SpawnNamed(RaftActor.Props(settings), Kinds.Raft);
        var member = new Member(id, system, raft, store, new RaftProposer(system.Root, raft, pending, TimeSpan.FromSeconds(10), settings.Time), view, file, path);
        _members.Add(member);
        return member;
    }

    /// <summary>The system's clock moved by an offset for the wall-clock time; timers and timestamps are the system's.</summary>
    private sealed class SkewedTime(TimeSpan offset) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + offset;
    }

    private sealed record Member(ulong Id, ActorSystem System, PID Raft, SwarmStore Store, IProposer Proposer, RaftView View, RaftLogFile File, string Path)
    {
        public async Task StopAsync()
        {
            // A non-graceful remote shutdown waits about 30 s here; the graceful one takes milliseconds.
            await System.Remote().ShutdownAsync(graceful: true);
            await System.ShutdownAsync();
            File.Dispose();
        }
    }
}
