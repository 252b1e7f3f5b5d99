using ProtoSwarm.Actors.Networks;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Tests.Networks;

public sealed class AddressPoolTests
{
    [Theory]
    [InlineData("10.0.1.0/24", "10.0.1.0/24")]
    [InlineData("10.0.0.0/8", "10.0.0.0/8")]
    [InlineData("192.168.7.248/29", "192.168.7.248/29")]
    public void A_Valid_Subnet_Reads_Back_As_Written(string text, string expected)
    {
        Assert.Null(Ipv4Subnet.TryParse(text, out var subnet));
        Assert.Equal(expected, subnet.ToString());
    }

    [Theory]
    [InlineData("10.0.1.0", "CIDR")]
    [InlineData("10.0.1.5/24", "host bits set; the subnet is 10.0.1.0/24")]
    [InlineData("10.0.0.0/7", "outside /8../29")]
    [InlineData("10.0.0.0/30", "outside /8../29")]
    [InlineData("fd00::/64", "not an IPv4 address")]
    [InlineData("10.1/16", "not an IPv4 address")]
    [InlineData("10.0.0.0/x", "not a prefix length")]
    public void An_Invalid_Subnet_Says_What_Is_Wrong(string text, string expected)
    {
        var problem = Ipv4Subnet.TryParse(text, out _);

        Assert.NotNull(problem);
        Assert.Contains(expected, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Subnets_Overlap_When_One_Holds_The_Other()
    {
        Ipv4Subnet.TryParse("10.0.0.0/16", out var wide);
        Ipv4Subnet.TryParse("10.0.5.0/24", out var inside);
        Ipv4Subnet.TryParse("10.1.0.0/24", out var outside);

        Assert.True(wide.Overlaps(inside));
        Assert.True(inside.Overlaps(wide));
        Assert.False(wide.Overlaps(outside));
    }

    [Fact]
    public void Addresses_Are_Given_In_Order_After_The_Gateway_Skipping_Taken_Ones()
    {
        var pool = Pool("10.0.1.0/24");
        pool.Reserve(Ip("10.0.1.3"));

        Assert.Equal(["10.0.1.2", "10.0.1.4", "10.0.1.5"], Take(pool, 3));
    }

    [Fact]
    public void A_Released_Address_Is_Not_Given_Again_Until_The_Cursor_Wraps_Round()
    {
        var pool = Pool("10.0.1.0/29");
        var given = Take(pool, 3);
        pool.Release(Ip(given[0]));

        // .2 .3 .4 given, .2 freed: the next are .5 and .6, and only then .2 again.
        Assert.Equal(["10.0.1.5", "10.0.1.6", "10.0.1.2"], Take(pool, 3));
    }

    [Fact]
    public void A_Full_Subnet_Gives_Nothing_And_Frees_Room_On_Release()
    {
        var pool = Pool("10.0.1.0/29");

        Assert.Equal(5, Take(pool, 10).Count);
        Assert.Null(pool.Allocate());
        Assert.Equal(0, pool.Free);

        pool.Release(Ip("10.0.1.4"));
        Assert.Equal(Ip("10.0.1.4"), pool.Allocate());
    }

    [Fact]
    public void The_Network_Broadcast_And_Gateway_Addresses_Are_Never_Given_Or_Reserved()
    {
        var pool = Pool("10.0.1.0/24");

        Assert.False(pool.Reserve(Ip("10.0.1.0")));
        Assert.False(pool.Reserve(Ip("10.0.1.255")));
        Assert.False(pool.Reserve(Ip("10.0.1.1")));
        Assert.False(pool.Reserve(Ip("10.0.2.9")));
        Assert.True(pool.Reserve(Ip("10.0.1.9")));
        Assert.False(pool.Reserve(Ip("10.0.1.9")));
        Assert.Equal(253 - 1, pool.Free);
    }

    [Fact]
    public void A_Pool_With_A_Range_Gives_Only_Its_Addresses_Skipping_The_Gateway_And_Aux_Addresses_And_Wraps_Inside_It()
    {
        Ipv4Subnet.TryParse("10.9.0.0/24", out var subnet);
        Assert.Null(Ipv4Subnet.TryParse("10.9.0.248/29", out var range, 0, 32));
        var pool = new AddressPool(subnet, Ip("10.9.0.1"), range, [Ip("10.9.0.250"), Ip("10.9.0.7")]);

        // .248-.254 (.255 is the subnet's broadcast), less .250: six, then full; a freed one comes back.
        Assert.Equal(6, pool.Free);
        Assert.Equal(["10.9.0.248", "10.9.0.249", "10.9.0.251", "10.9.0.252", "10.9.0.253", "10.9.0.254"], Take(pool, 10));
        Assert.Null(pool.Allocate());
        pool.Release(Ip("10.9.0.249"));
        Assert.Equal(Ip("10.9.0.249"), pool.Allocate());
    }

    [Fact]
    public void Aux_Addresses_Are_Never_Reserved_Or_Given_And_An_Address_Outside_The_Range_Does_Not_Use_It_Up()
    {
        Ipv4Subnet.TryParse("10.9.0.0/24", out var subnet);
        Ipv4Subnet.TryParse("10.9.0.128/25", out var range);
        var pool = new AddressPool(subnet, Ip("10.9.0.128"), range, [Ip("10.9.0.130")]);

        Assert.False(pool.Reserve(Ip("10.9.0.130")));
        Assert.False(pool.Gives(Ip("10.9.0.130")));
        Assert.False(pool.Gives(Ip("10.9.0.5")));
        Assert.True(pool.Reserve(Ip("10.9.0.5")));
        Assert.Equal(127 - 2, pool.Free); // .128-.254 less the gateway and the aux address
        Assert.Equal(["10.9.0.129", "10.9.0.131"], Take(pool, 2));
    }

    private static AddressPool Pool(string cidr)
    {
        Ipv4Subnet.TryParse(cidr, out var subnet);
        return new AddressPool(subnet, subnet.Network + 1);
    }

    private static uint Ip(string text)
    {
        Assert.True(Ipv4Subnet.TryParseAddress(text, out var ip));
        return ip;
    }

    private static List<string> Take(AddressPool pool, int count)
    {
        var given = new List<string>();
        for (var i = 0; i < count && pool.Allocate() is { } ip; i++)
        {
            given.Add(Ipv4Subnet.Format(ip));
        }

        return given;
    }
}
