namespace ProtoSwarm.Networking.Nft.Interop;

/// <summary>libnftables (nftables' own library, the one the nft command is built on), one function a file.</summary>
internal static partial class LibNftables
{
    internal const string Library = "libnftables.so.1";

    /// <summary>NFT_CTX_DEFAULT.</summary>
    internal const uint DefaultFlags = 0;
}
