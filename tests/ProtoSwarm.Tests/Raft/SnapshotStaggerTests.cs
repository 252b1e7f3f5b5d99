using ProtoSwarm.Actors.Raft;

namespace ProtoSwarm.Tests.Raft;

public class SnapshotStaggerTests
{
    [Theory]
    [InlineData(9_999UL, 50_000L, 0, 3, false)] // the first voter: the interval itself
    [InlineData(10_000UL, 50_000L, 0, 3, true)]
    [InlineData(13_332UL, 50_000L, 1, 3, false)] // the second of three: a third more
    [InlineData(13_333UL, 50_000L, 1, 3, true)]
    [InlineData(16_665UL, 50_000L, 2, 3, false)] // the third: two thirds more
    [InlineData(16_666UL, 50_000L, 2, 3, true)]
    [InlineData(10_000UL, 50_000L, 1, 1, true)] // a lone voter waits for no one
    [InlineData(10_000UL, 50_000L, -1, 3, true)] // a learner is not among the voters
    public void A_Members_First_Snapshot_Waits_A_Share_Of_The_Interval_That_Grows_With_Its_Place_Among_The_Voters(
        ulong appliedSince, long bytesSince, int rank, int voters, bool due)
    {
        Assert.Equal(due, RaftActor.SnapshotDue(appliedSince, 10_000, bytesSince, snapshotBytes: 30_000, rank, voters));
    }

    [Theory]
    [InlineData(0, 40_000_000L, true)]
    [InlineData(0, 39_999_999L, false)]
    [InlineData(1, 53_333_332L, false)] // a growing store: the second of three waits for a third more bytes too
    [InlineData(1, 53_333_333L, true)]
    [InlineData(2, 66_666_666L, true)]
    [InlineData(2, 66_666_665L, false)]
    public void The_Byte_Rule_Is_Stretched_By_The_Same_Share(int rank, long bytesSince, bool due)
    {
        Assert.Equal(due, RaftActor.SnapshotDue(200_000, 10_000, bytesSince, snapshotBytes: 40_000_000, rank, voters: 3));
    }
}
