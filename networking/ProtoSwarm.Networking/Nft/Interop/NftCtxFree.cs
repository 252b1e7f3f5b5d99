using System.Runtime.InteropServices;

namespace ProtoSwarm.Networking.Nft.Interop;

internal static partial class LibNftables
{
    [LibraryImport(Library, EntryPoint = "nft_ctx_free")]
    internal static partial void NftCtxFree(nint ctx);
}
