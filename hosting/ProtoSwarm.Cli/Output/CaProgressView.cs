using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Output;

/// <summary>
/// What `swarm ca --rotate` shows while it waits, in docker's words and layout: the digest of the roots the swarm wants
/// trusted, then two bars, "rotated TLS certificates" (nodes holding a certificate from the new root) and "rotated CA
/// certificates" (nodes trusting only what the swarm wants), the second at zero until the first is full and the
/// rotation has ended, as docker draws it. The wait ends when both are full (<see cref="Done"/>). Pure.
/// </summary>
internal static class CaProgressView
{
    public const string DigestId = "desired root digest";
    public const string CertificatesId = "  rotated TLS certificates";
    public const string RootsId = "  rotated CA certificates";

    public static IReadOnlyList<ProgressLine> Lines(CaStatus status) =>
    [
        new(DigestId, Digest(status)),
        // Docker's action texts: none for the first bar and one space for the second, whose title is a character
        // shorter, so both bars start in the same column.
        new(CertificatesId, " " + Bar(status.NodesRenewed, status.Nodes)),
        new(RootsId, "  " + Bar(RootsShown(status), status.Nodes)),
    ];

    /// <summary>
    /// Every node renewed, the rotation ended, and every node trusting the swarm's roots alone. A manager of an earlier
    /// version reports no trust (<see cref="CaStatus.TrustRoot"/> empty): there the end of the rotation is the end.
    /// </summary>
    public static bool Done(CaStatus status) =>
        !status.RotationInProgress && status.NodesRenewed >= status.Nodes && RootsShown(status) >= status.Nodes;

    /// <summary>Docker's bar and count: 50 characters, "=" for each 2 %, then "&gt;", and "N/M nodes".</summary>
    public static string Bar(int current, int total)
    {
        if (total <= 0)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{current} nodes");
        }

        var filled = Math.Min(50, (int)((double)current / total * 100) / 2);
        var count = current > total
            ? string.Create(CultureInfo.InvariantCulture, $"{current} nodes")
            : string.Create(CultureInfo.InvariantCulture, $"{current}/{total} nodes");
        return "[" + new string('=', filled) + ">" + new string(' ', 50 - filled) + "] " + count;
    }

    private static int RootsShown(CaStatus status) =>
        status.RotationInProgress || status.NodesRenewed < status.Nodes ? 0
        : status.TrustRoot.Length == 0 ? status.Nodes
        : status.NodesTrustingRoot;

    /// <summary>Docker's digest of the wanted trust root's PEM text (sha256:hex); the root itself from an earlier manager.</summary>
    private static string Digest(CaStatus status)
    {
        var pem = status.TrustRoot.Length > 0 ? status.TrustRoot : status.RootCaPem;
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(pem)));
    }
}
