namespace ProtoSwarm.IntegrationTests;

public class PlaceholderTests
{
    [Fact]
    public void Builds() => Assert.True(true);
}
