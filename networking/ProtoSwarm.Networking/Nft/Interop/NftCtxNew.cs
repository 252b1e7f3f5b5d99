using System.Runtime.InteropServices;

namespace ProtoSwarm.Networking.Nft.Interop;

internal static partial class LibNftables
{
    /// <summary>A context whose netlink socket is opened in the calling thread's network namespace.</summary>
    [LibraryImport(Library, EntryPoint = "nft_ctx_new")]
    internal static partial nint NftCtxNew(uint flags);
}
