using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Asn1.X509;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Pki;

/// <summary>
/// Who a certificate speaks for: CN = node id, OU = role, O = cluster id, as swarmkit's certificates. An
/// operator's client certificate (`protoswarm ca issue-client`) has OU = swarm-client: it may use the
/// managers' API and nothing a node does (<see cref="IsClient"/>; its <see cref="Role"/> is then Worker).
/// </summary>
public sealed record SwarmPeer(string NodeId, NodeRole Role, string ClusterId, bool IsClient = false)
{
    private const int MaxLength = 64; // the X.520 upper bound for CN, OU and O

    public static SwarmPeer Client(string clientId, string clusterId) => new(clientId, NodeRole.Worker, clusterId, IsClient: true);

    internal X509Name ToX509Name() =>
        new([X509Name.O, X509Name.OU, X509Name.CN], [ClusterId, IsClient ? SwarmRoles.ClientUnit : SwarmRoles.ToUnit(Role), NodeId]);

    /// <summary>Ids go into a distinguished name, so they are kept to characters that never need escaping.</summary>
    internal static void CheckId(string value, string name)
    {
        if (string.IsNullOrEmpty(value) || value.Length > MaxLength || !value.All(IsIdChar))
            throw new ArgumentException($"{name} '{value}' must be 1-{MaxLength} letters, digits, '-', '_' or '.'", name);
    }

    private static bool IsIdChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.';

    /// <summary>Reads the three attributes, each exactly once; anything else in the subject is ignored.</summary>
    public static bool TryParse(X500DistinguishedName subject, [NotNullWhen(true)] out SwarmPeer? peer, [NotNullWhen(false)] out string? error)
    {
        peer = null;
        var found = subject.EnumerateRelativeDistinguishedNames()
            .Where(rdn => !rdn.HasMultipleElements)
            .ToLookup(rdn => rdn.GetSingleElementType().Value, rdn => rdn.GetSingleElementValue() ?? "");

        string? Single(string oid, string name, ref string? problem)
        {
            var values = found[oid].ToList();
            if (values.Count > 1)
                problem ??= $"the subject '{subject.Name}' has more than one {name}";
            return values.Count == 1 && values[0].Length > 0 ? values[0] : null;
        }

        error = null;
        var cn = Single("2.5.4.3", "CN", ref error);
        var ou = Single("2.5.4.11", "OU", ref error);
        var o = Single("2.5.4.10", "O", ref error);
        if (error is not null)
            return false;
        if (cn is null || o is null)
        {
            error = $"the subject '{subject.Name}' lacks a node id (CN) or a cluster id (O)";
            return false;
        }
        if (ou == SwarmRoles.ClientUnit)
        {
            peer = Client(cn, o);
            return true;
        }
        if (!SwarmRoles.TryParseUnit(ou, out var role))
        {
            error = $"the subject '{subject.Name}' has no role: OU must be {SwarmRoles.ManagerUnit}, {SwarmRoles.WorkerUnit} or {SwarmRoles.ClientUnit}";
            return false;
        }
        peer = new SwarmPeer(cn, role.Value, o);
        return true;
    }
}
