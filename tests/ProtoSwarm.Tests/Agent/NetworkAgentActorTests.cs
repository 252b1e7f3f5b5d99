using ProtoSwarm.Actors.Agent.Networks;

namespace ProtoSwarm.Tests.Agent;

public sealed class NetworkAgentActorTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 4)]
    [InlineData(5, 16)]
    [InlineData(6, 30)]
    [InlineData(1000, 30)]
    public void A_Failure_That_Lasts_Is_Retried_Less_And_Less_Often_Up_To_Every_30_Seconds(int failures, int seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), NetworkAgentActor.RetryDelay(failures));
    }

    [Fact]
    public void A_Failure_Is_Told_In_One_Line_With_What_It_Wraps_And_No_Stack_Trace()
    {
        var inner = new InvalidOperationException("create vxlan vx-8vtpi6r2 (vni 4105): File exists (errno 17)");
        Exception thrown;
        try
        {
            throw new InvalidOperationException($"A network could not be made on this node: {inner.Message}", inner);
        }
        catch (InvalidOperationException e)
        {
            thrown = e;
        }

        Assert.Equal("A network could not be made on this node: create vxlan vx-8vtpi6r2 (vni 4105): File exists (errno 17)", NetworkAgentActor.Describe(thrown));
        Assert.Equal("a; b c",
            NetworkAgentActor.Describe(new AggregateException("2 networks", new InvalidOperationException("a"), new InvalidOperationException("b\nc"))));
    }
}
