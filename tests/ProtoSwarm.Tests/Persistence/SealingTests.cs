using System.Text;
using MessagePack;
using ProtoSwarm.Persistence;
using ProtoSwarm.Persistence.Sealing;
using ProtoSwarm.Tests.Store;

namespace ProtoSwarm.Tests.Persistence;

public sealed class SealingTests : IDisposable
{
    private static readonly byte[] Secret = Encoding.UTF8.GetBytes("the store, in clear");

    private readonly TempDir _dir = new();
    private readonly Sealer _sealer = NewSealer();

    public void Dispose()
    {
        _sealer.Dispose();
        _dir.Dispose();
    }

    internal static Sealer NewSealer()
    {
        using var key = DataKey.Generate();
        return new Sealer(key);
    }

    [Fact]
    public void A_Sealed_Blob_Opens_Back_In_Its_Place_And_Never_Repeats()
    {
        var first = _sealer.Seal(Secret, "entry:1:1:0");
        var second = _sealer.Seal(Secret, "entry:1:1:0");

        Assert.Equal(Secret, _sealer.Open(first, "entry:1:1:0"));
        Assert.Equal(Sealer.Overhead + Secret.Length, first.Length);
        Assert.NotEqual(first, second);
        Assert.Equal(Sealer.Overhead, _sealer.Open(_sealer.Seal([], "entry:2:1:0"), "entry:2:1:0").Length + Sealer.Overhead);
    }

    [Theory]
    [InlineData("version")]
    [InlineData("nonce")]
    [InlineData("tag")]
    [InlineData("ciphertext")]
    [InlineData("truncated")]
    [InlineData("too short")]
    [InlineData("another place")]
    [InlineData("another key")]
    public void A_Changed_Truncated_Moved_Or_Foreign_Blob_Is_Refused(string damage)
    {
        var blob = _sealer.Seal(Secret, "entry:7:2:0");
        using var other = NewSealer();
        void Flip(int at) => blob[at] ^= 0x01;
        var place = "entry:7:2:0";
        var sealer = _sealer;
        switch (damage)
        {
            case "version": Flip(0); break;
            case "nonce": Flip(1); break;
            case "tag": Flip(1 + Sealer.NonceSize); break;
            case "ciphertext": Flip(blob.Length - 1); break;
            case "truncated": blob = blob[..^1]; break;
            case "too short": blob = blob[..10]; break;
            case "another place": place = "entry:8:2:0"; break;
            case "another key": sealer = other; break;
        }

        var refused = Assert.Throws<PersistenceException>(() => sealer.Open(blob, place));

        Assert.Contains(place, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_Unlock_Key_Has_Dockers_Shape_And_Reads_Back()
    {
        var key = UnlockKey.Create();

        Assert.StartsWith("SWMKEY-1-", key.Text, StringComparison.Ordinal);
        Assert.Equal(9 + 43, key.Text.Length);
        Assert.Equal(key, UnlockKey.Parse(key.Text));
        Assert.Equal(key, UnlockKey.Parse($"  {key.Text}=\n"));
        Assert.NotEqual(key, UnlockKey.Create());
        Assert.DoesNotContain(key.Text[9..], key.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "No unlock key")]
    [InlineData("   ", "No unlock key")]
    [InlineData("SWMTKN-1-abc-def", "join token")]
    [InlineData("swmkey-1-AAAA", "starts with SWMKEY-1-")]
    [InlineData("SWMKEY-1-not*base64!", "not base64")]
    [InlineData("SWMKEY-1-AAAAAAAA", "cut short")]
    public void A_Malformed_Unlock_Key_Is_Refused_Saying_Why(string text, string why)
    {
        var refused = Assert.Throws<FormatException>(() => UnlockKey.Parse(text));

        Assert.Contains(why, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_Data_Key_Is_Kept_Wrapped_By_The_Node_Key_In_Root_Only_Files()
    {
        var keys = NodeKeyFile.LoadOrCreate(_dir.File("keys/raft.kek"));
        var file = new DataKeyFile(_dir.File("keys/raft.dek"), keys);
        byte[] blob;
        byte[] raw;
        using (var created = file.LoadOrCreate(unlockKey: null))
        using (var sealer = new Sealer(created))
        {
            blob = sealer.Seal(Secret, "snapshot:1:1");
            raw = created.Bytes.ToArray();
        }

        var again = new DataKeyFile(_dir.File("keys/raft.dek"), NodeKeyFile.LoadOrCreate(_dir.File("keys/raft.kek")));
        using var loaded = again.LoadOrCreate(unlockKey: null);
        using var reopened = new Sealer(loaded);

        Assert.Equal(Secret, reopened.Open(blob, "snapshot:1:1"));
        Assert.Equal(KeyProtection.NodeKey, again.Protection);
        Assert.False(again.NeedsUnlockKey);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_dir.File("keys/raft.kek")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_dir.File("keys/raft.dek")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_dir.File("keys")));
        Assert.False(Contains(File.ReadAllBytes(_dir.File("keys/raft.dek")), raw), "the data key is stored wrapped, never in clear");
    }

    [Fact]
    public void With_Autolock_No_Key_Is_Locked_A_Wrong_Key_Is_Refused_And_The_Right_One_Opens()
    {
        var unlock = UnlockKey.Create();
        var file = NewDataKeyFile();
        byte[] blob;
        using (var created = file.LoadOrCreate(unlock))
        using (var sealer = new Sealer(created))
        {
            blob = sealer.Seal(Secret, "entry:3:1:0");
        }

        Assert.True(file.NeedsUnlockKey);
        var locked = Assert.Throws<SwarmLockedException>(() => file.Load(unlockKey: null));
        Assert.Contains("swarm unlock", locked.Message, StringComparison.Ordinal);
        Assert.Throws<SwarmLockedException>(() => file.LoadOrCreate(unlockKey: null));
        var wrong = Assert.Throws<InvalidUnlockKeyException>(() => file.Load(UnlockKey.Create()));
        Assert.Contains("unlock-key", wrong.Message, StringComparison.Ordinal);
        using var key = file.Load(UnlockKey.Parse(unlock.Text));
        using var opened = new Sealer(key);
        Assert.Equal(Secret, opened.Open(blob, "entry:3:1:0"));
    }

    [Fact]
    public void Rotating_The_Unlock_Key_Or_Switching_Autolock_Keeps_The_Same_Data_Key()
    {
        var file = NewDataKeyFile();
        byte[] keyId;
        using (var created = file.LoadOrCreate(unlockKey: null))
        using (var sealer = new Sealer(created))
        {
            keyId = sealer.KeyId;
        }

        var first = UnlockKey.Create();
        var second = UnlockKey.Create();

        file.Rewrap(current: null, next: first);
        Assert.True(file.NeedsUnlockKey);
        Assert.Equal(keyId, KeyIdOf(file, first));

        file.Rewrap(current: first, next: second);
        Assert.Throws<InvalidUnlockKeyException>(() => file.Load(first));
        Assert.Equal(keyId, KeyIdOf(file, second));

        Assert.Throws<InvalidUnlockKeyException>(() => file.Rewrap(current: first, next: null));
        file.Rewrap(current: second, next: null);
        Assert.False(file.NeedsUnlockKey);
        Assert.Equal(keyId, KeyIdOf(file, null));
    }

    [Fact]
    public void A_Key_Wrapped_By_The_Unlock_Key_Relabelled_As_Node_Wrapped_Does_Not_Open()
    {
        var file = NewDataKeyFile();
        file.LoadOrCreate(UnlockKey.Create()).Dispose();
        var wrapped = MessagePackSerializer.Deserialize<WrappedDataKey>(File.ReadAllBytes(file.Path));
        File.WriteAllBytes(file.Path, MessagePackSerializer.Serialize(wrapped with { Protection = KeyProtection.NodeKey }));

        var refused = Assert.Throws<PersistenceException>(() => file.Load(unlockKey: null));

        Assert.Contains(file.Path, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_Damaged_Key_File_Is_Refused_With_What_To_Do()
    {
        var file = NewDataKeyFile();
        file.LoadOrCreate(unlockKey: null).Dispose();
        File.WriteAllBytes(file.Path, [1, 2, 3]);

        var refused = Assert.Throws<PersistenceException>(() => file.Load(unlockKey: null));

        Assert.Contains("join the swarm again", refused.Message, StringComparison.Ordinal);
    }

    private DataKeyFile NewDataKeyFile() =>
        new(_dir.File("keys/raft.dek"), NodeKeyFile.LoadOrCreate(_dir.File("keys/raft.kek")));

    private static byte[] KeyIdOf(DataKeyFile file, UnlockKey? unlockKey)
    {
        using var key = file.Load(unlockKey);
        using var sealer = new Sealer(key);
        return sealer.KeyId;
    }

    internal static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;
}
