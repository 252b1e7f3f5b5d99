using MessagePack;
using ProtoSwarm.Raft;

namespace ProtoSwarm.Raft.Tests;

public class RaftTypesTests
{
    [Fact]
    public void Messages_Round_Trip_Through_MessagePack()
    {
        var message = new Message(MessageType.Append, 2, 1, 5, 4, 10, [new Entry(11, 5, EntryType.Normal, [1, 2, 3])], 9, null, false, 0, null);
        var back = MessagePackSerializer.Deserialize<Message>(MessagePackSerializer.Serialize(message));
        Assert.Equal(message.Type, back.Type);
        Assert.Equal(message.Entries[0].Data, back.Entries[0].Data);
        Assert.Equal(message.Commit, back.Commit);
    }
}
