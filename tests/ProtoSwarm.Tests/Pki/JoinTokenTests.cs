using System.Numerics;
using ProtoSwarm.Pki;

namespace ProtoSwarm.Tests.Pki;

public class JoinTokenTests
{
    private static readonly RootCa Ca = RootCa.Create(DateTimeOffset.UtcNow);

    [Fact]
    public void A_Token_Has_Dockers_Shape()
    {
        var token = JoinToken.Generate(Ca.Digest).ToString();

        Assert.Matches("^SWMTKN-1-[0-9a-z]{50}-[0-9a-z]{25}$", token);
    }

    [Fact]
    public void The_Digest_Part_Is_The_Ca_Digest_In_Base_36()
    {
        var token = JoinToken.Generate(Ca.Digest).ToString();

        var digest = BigInteger.Zero;
        foreach (var c in token.Split('-')[2])
            digest = (digest * 36) + (char.IsDigit(c) ? c - '0' : c - 'a' + 10);
        Assert.Equal(new BigInteger(Ca.Digest.Bytes, isUnsigned: true, isBigEndian: true), digest);
    }

    [Fact]
    public void Small_Values_Are_Zero_Padded_To_Fixed_Widths()
    {
        var token = JoinToken.Create(CaDigest.FromBytes(new byte[32]), new byte[16]).ToString();

        Assert.Equal("SWMTKN-1-" + new string('0', 50) + "-" + new string('0', 25), token);
    }

    [Fact]
    public void The_Largest_Values_Fit_The_Widths()
    {
        var digest = Enumerable.Repeat((byte)0xff, 32).ToArray();
        var secret = Enumerable.Repeat((byte)0xff, 16).ToArray();

        var token = JoinToken.Create(CaDigest.FromBytes(digest), secret);

        var parsed = JoinToken.Parse(token.ToString());
        Assert.Equal(digest, parsed.CaDigest.Bytes.ToArray());
        Assert.Equal(secret, parsed.Secret.ToArray());
    }

    [Fact]
    public void A_Token_Round_Trips_Through_Its_Text()
    {
        var token = JoinToken.Generate(Ca.Digest);

        var parsed = JoinToken.Parse(token.ToString());

        Assert.Equal(token.ToString(), parsed.ToString());
        Assert.Equal(Ca.Digest, parsed.CaDigest);
        Assert.True(parsed.Matches(Ca.Certificate));
        Assert.True(token.Admits(parsed));
    }

    [Fact]
    public void Surrounding_Whitespace_From_A_Copy_And_Paste_Is_Ignored()
    {
        var token = JoinToken.Generate(Ca.Digest);

        Assert.True(token.Admits(JoinToken.Parse($"  {token}\n")));
    }

    [Fact]
    public void Secrets_Are_Fresh_Each_Time()
    {
        var secrets = Enumerable.Range(0, 100).Select(_ => Convert.ToHexString(JoinToken.Generate(Ca.Digest).Secret)).ToHashSet();

        Assert.Equal(100, secrets.Count);
    }

    [Fact]
    public void A_Token_For_Another_Ca_Does_Not_Match_This_Ca()
    {
        var other = RootCa.Create(DateTimeOffset.UtcNow);
        var token = JoinToken.Parse(JoinToken.Generate(other.Digest).ToString());

        Assert.False(token.Matches(Ca.Certificate));
        Assert.False(token.Matches(Ca.ToX509Certificate2()));
        Assert.True(token.Matches(other.Certificate));
    }

    [Fact]
    public void A_Tampered_Digest_Parses_But_No_Longer_Matches_The_Ca()
    {
        var text = JoinToken.Generate(Ca.Digest).ToString();
        var tampered = Tamper(text, 9 + 20);

        var token = JoinToken.Parse(tampered);

        Assert.False(token.Matches(Ca.Certificate));
    }

    [Fact]
    public void A_Tampered_Secret_Is_Not_Admitted()
    {
        var issued = JoinToken.Generate(Ca.Digest);
        var text = issued.ToString();
        var tampered = JoinToken.Parse(Tamper(text, text.Length - 3));

        Assert.True(tampered.Matches(Ca.Certificate));
        Assert.False(issued.Admits(tampered));
    }

    [Fact]
    public void Another_Tokens_Secret_With_The_Right_Digest_Is_Not_Admitted()
    {
        Assert.False(JoinToken.Generate(Ca.Digest).Admits(JoinToken.Generate(Ca.Digest)));
    }

    public static TheoryData<string, string> Malformed()
    {
        var good = JoinToken.Generate(Ca.Digest).ToString();
        var parts = good.Split('-');
        var (digest, secret) = (parts[2], parts[3]);
        return new()
        {
            { "", "empty" },
            { "   ", "empty" },
            { $"SWMTKM-1-{digest}-{secret}", "starts with 'SWMTKM'" },
            { $"swmtkn-1-{digest}-{secret}", "starts with 'swmtkn'" },
            { $"SWMKEY-1-{digest}", "starts with 'SWMKEY'" },
            { $"SWMTKN-2-{digest}-{secret}", "version '2' is not supported" },
            { $"SWMTKN-2-1-{digest}-{secret}", "5 parts" },
            { $"SWMTKN-1-{digest}", "3 parts" },
            { $"SWMTKN-1-{digest}{secret}", "3 parts" },
            { $"SWMTKN-1-{digest[1..]}-{secret}", "CA digest has 49 characters, it should have 50" },
            { $"SWMTKN-1-{digest}0-{secret}", "CA digest has 51 characters, it should have 50" },
            { $"SWMTKN-1-{digest}-{secret[1..]}", "secret has 24 characters, it should have 25" },
            { $"SWMTKN-1-{digest}-{secret}00", "secret has 27 characters, it should have 25" },
            { $"SWMTKN-1-{digest[..10]}X{digest[11..]}-{secret}", "CA digest has 'X' at position 11" },
            { $"SWMTKN-1-{digest[..10]}_{digest[11..]}-{secret}", "CA digest has '_' at position 11" },
            { $"SWMTKN-1-{digest}-{secret[..4]}!{secret[5..]}", "secret has a character at position 5" },
            { $"SWMTKN-1-{new string('z', 50)}-{secret}", "CA digest is larger than 256 bits" },
            { $"SWMTKN-1-{digest}-{new string('z', 25)}", "secret is larger than 128 bits" },
        };
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void A_Malformed_Token_Is_Refused_Naming_What_Is_Wrong(string text, string expected)
    {
        var error = Assert.Throws<JoinTokenFormatException>(() => JoinToken.Parse(text));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.False(JoinToken.TryParse(text, out _, out var reason));
        Assert.Equal(error.Message, reason);
    }

    [Fact]
    public void A_Parse_Error_Never_Repeats_The_Secret()
    {
        var secret = JoinToken.Generate(Ca.Digest).ToString().Split('-')[3];

        Assert.False(JoinToken.TryParse($"SWMTKN-1-{new string('0', 49)}-{secret}", out _, out var e1));
        Assert.False(JoinToken.TryParse($"SWMTKN-1-{new string('0', 50)}-{secret}!", out _, out var e2));

        Assert.DoesNotContain(secret, e1, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, e2, StringComparison.Ordinal);
    }

    private static string Tamper(string text, int index)
    {
        var chars = text.ToCharArray();
        chars[index] = chars[index] == 'a' ? 'b' : 'a';
        return new string(chars);
    }
}
