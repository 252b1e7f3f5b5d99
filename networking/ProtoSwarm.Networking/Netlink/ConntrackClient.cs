using System.Buffers.Binary;
using System.Net;

namespace ProtoSwarm.Networking.Netlink;

/// <summary>
/// ctnetlink (NETLINK_NETFILTER) in the network namespace of the thread that made the client. When a
/// virtual IP's backend goes away, its flows must not stick to it: <see cref="DeleteFlowsTo"/> drops
/// them so the next packet is balanced again.
/// </summary>
public sealed class ConntrackClient : IDisposable
{
    private const int ENOENT = 2;
    private const ushort Get = (Rtnl.NFNL_SUBSYS_CTNETLINK << 8) | Rtnl.IPCTNL_MSG_CT_GET;
    private const ushort Delete = (Rtnl.NFNL_SUBSYS_CTNETLINK << 8) | Rtnl.IPCTNL_MSG_CT_DELETE;
    private readonly NetlinkSocket _socket = new(Rtnl.NETLINK_NETFILTER);

    /// <summary>
    /// Deletes every IPv4 entry whose original destination or reply source is <paramref name="address"/>
    /// (a flow DNATed to a backend has the backend as its reply source). Returns how many were deleted.
    /// </summary>
    public int DeleteFlowsTo(IPAddress address)
    {
        Span<byte> wanted = stackalloc byte[4];
        address.TryWriteBytes(wanted, out _);
        var target = BinaryPrimitives.ReadUInt32BigEndian(wanted);
        var batch = new NetlinkBatch(_socket);
        _socket.Dump("list conntrack entries", Get, w => w.NfGen(Rtnl.AF_INET), m =>
        {
            ReadOnlySpan<byte> orig = default, zone = default, id = default;
            var matches = false;
            foreach (var a in m.Attributes(4))
            {
                switch (a.Type)
                {
                    case Rtnl.CTA_TUPLE_ORIG:
                        orig = a.Raw;
                        matches |= TupleAddress(a.Nested, Rtnl.CTA_IP_V4_DST) == target;
                        break;
                    case Rtnl.CTA_TUPLE_REPLY:
                        matches |= TupleAddress(a.Nested, Rtnl.CTA_IP_V4_SRC) == target;
                        break;
                    case Rtnl.CTA_ZONE: zone = a.Raw; break;
                    case Rtnl.CTA_ID: id = a.Raw; break;
                }
            }
            if (matches && !orig.IsEmpty)
            {
                var (o, z, i) = (orig.ToArray(), zone.ToArray(), id.ToArray());
                batch.Add($"delete conntrack entry to {address}", Delete, 0, w =>
                {
                    w.NfGen(Rtnl.AF_INET);
                    w.Raw(o);
                    w.Raw(z);
                    w.Raw(i);
                }, ENOENT);
            }
        });
        if (batch.Count > 0)
        {
            _socket.Execute(batch);
        }
        return batch.Count;
    }

    public void Dispose() => _socket.Dispose();

    private static uint TupleAddress(AttributeReader tuple, ushort which)
    {
        foreach (var part in tuple)
        {
            if (part.Type == Rtnl.CTA_TUPLE_IP)
            {
                foreach (var ip in part.Nested)
                {
                    if (ip.Type == which && ip.Value.Length == 4)
                    {
                        return BinaryPrimitives.ReadUInt32BigEndian(ip.Value);
                    }
                }
            }
        }
        return 0;
    }
}
