using Microsoft.Extensions.Logging.Abstractions;
using ProtoSwarm.Actors.Orchestration.Actors;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Tests.Store;
using ProtoSwarm.Tests.Orchestration.Reconcile;

namespace ProtoSwarm.Tests.Orchestration;

/// <summary>A service's decisions written conditionally on the service, over a real store in a temp file.</summary>
public sealed class ProposalsTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Tasks_Decided_For_A_Service_Removed_Meanwhile_Are_Not_Written()
    {
        var (store, proposer) = LocalProposer.Open(_dir.File("store.db"), TimeProvider.System, NullLogger.Instance);
        await using (proposer)
        {
            await proposer.ProposeAsync([StoreChange.Create(Rc.Service())]);
            var read = store.Current.Get<ServiceObject>(Rc.Sid)!;
            var decided = Enumerable.Range(1, 600).Select(i => StoreChange.Create(Rc.Task($"t{i:D4}", i, ""))).ToList();

            await proposer.ProposeAsync([StoreChange.Delete(read)]);
            var stored = await Proposals.ProposeGuardedAsync(proposer, read, decided);

            Assert.False(stored);
            Assert.Empty(store.Current.List<TaskObject>());
        }
    }

    [Fact]
    public async Task A_Decision_That_Changes_The_Service_Writes_It_First_And_Its_Tasks_Against_The_Version_It_Made()
    {
        var (store, proposer) = LocalProposer.Open(_dir.File("store.db"), TimeProvider.System, NullLogger.Instance);
        await using (proposer)
        {
            await proposer.ProposeAsync([StoreChange.Create(Rc.Service())]);
            var read = store.Current.Get<ServiceObject>(Rc.Sid)!;
            List<StoreChange> decided = [StoreChange.Update(read with { SpecVersion = 2 }), .. Enumerable.Range(1, 600).Select(i => StoreChange.Create(Rc.Task($"t{i:D4}", i, "")))];

            var stored = await Proposals.ProposeGuardedAsync(proposer, read, decided);

            Assert.True(stored);
            Assert.Equal(2UL, store.Current.Get<ServiceObject>(Rc.Sid)!.SpecVersion);
            Assert.Equal(600, store.Current.List<TaskObject>().Count());
        }
    }

    [Fact]
    public async Task An_Expectation_Writes_Nothing_And_Refuses_Its_Proposal_When_The_Object_Moved_On()
    {
        var (store, proposer) = LocalProposer.Open(_dir.File("store.db"), TimeProvider.System, NullLogger.Instance);
        await using (proposer)
        {
            await proposer.ProposeAsync([StoreChange.Create(Rc.Service())]);
            var read = store.Current.Get<ServiceObject>(Rc.Sid)!;

            await proposer.ProposeAsync([StoreChange.Expect(read), StoreChange.Create(Rc.Task("t1", 1, ""))]);
            await proposer.ProposeAsync([StoreChange.Update(read with { SpecVersion = 2 })]);
            await Assert.ThrowsAsync<StoreConflictException>(() => proposer.ProposeAsync([StoreChange.Expect(read), StoreChange.Create(Rc.Task("t2", 2, ""))]));

            Assert.Equal(["t1"], store.Current.List<TaskObject>().Select(t => t.Id));
            var (_, back, _) = StoreCodec.DecodeProposal(StoreCodec.EncodeProposal("p", [StoreChange.Expect(read)], Rc.T0));
            Assert.Equal(StoreChange.Expect(read), Assert.Single(back));
        }
    }
}
