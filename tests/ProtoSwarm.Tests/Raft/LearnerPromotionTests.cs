using System.Collections.Immutable;
using ProtoSwarm.Actors.Raft;
using ProtoSwarm.Raft;

namespace ProtoSwarm.Tests.Raft;

public class LearnerPromotionTests
{
    private const ulong Leader = 1;
    private const ulong Learner = 4;

    private static RaftStatus Status(ulong commit, ulong learnerMatch, bool recentActive = true, StateRole role = StateRole.Leader) =>
        new(Leader, 2, Leader, Leader, role, commit, commit, commit, new ConfState([1UL, 2, 3], [Learner]),
            new Dictionary<ulong, PeerProgress>
            {
                [2] = new(commit, commit + 1, true, false, false),
                [3] = new(commit, commit + 1, true, false, false),
                [Learner] = new(learnerMatch, learnerMatch + 1, recentActive, false, true),
            });

    [Theory]
    [InlineData(100UL, 100UL, ulong.MaxValue, true, Learner)] // idle: it has the commit index
    [InlineData(100UL, 99UL, ulong.MaxValue, true, 0UL)] // first tick as leader: the commit index now
    [InlineData(110UL, 100UL, 100UL, true, Learner)] // it has what was committed by the previous tick
    [InlineData(110UL, 99UL, 100UL, true, 0UL)] // still behind that
    [InlineData(110UL, 100UL, 100UL, false, 0UL)] // not heard from lately
    public void A_Learner_Is_Caught_Up_Once_It_Holds_What_Was_Committed_By_The_Previous_Tick(
        ulong commit, ulong match, ulong commitAtLastTick, bool recentActive, ulong expected)
    {
        Assert.Equal(expected, RaftActor.CaughtUpLearner(Status(commit, match, recentActive), commitAtLastTick));
    }

    [Fact]
    public void Only_A_Leader_Promotes()
    {
        Assert.Equal(0UL, RaftActor.CaughtUpLearner(Status(100, 100, role: StateRole.Follower), ulong.MaxValue));
    }

    /// <summary>
    /// Steady writes: every tick the voters have acknowledged (and the leader committed) ten more
    /// entries than the learner, which answers a moment later. Compared with the commit index of the
    /// same instant it is never caught up; it is promoted at the second tick.
    /// </summary>
    [Fact]
    public void A_Learner_One_Batch_Behind_A_Steady_Write_Load_Is_Promoted()
    {
        var commitAtLastTick = ulong.MaxValue;
        var promotedAt = -1;
        for (var tick = 0; tick < 50 && promotedAt < 0; tick++)
        {
            var commit = 100 + (10 * (ulong)tick);
            var status = Status(commit, learnerMatch: commit - 10);
            if (RaftActor.CaughtUpLearner(status, commitAtLastTick) == Learner)
            {
                promotedAt = tick;
            }

            commitAtLastTick = commit;
        }

        Assert.Equal(1, promotedAt);
    }
}
