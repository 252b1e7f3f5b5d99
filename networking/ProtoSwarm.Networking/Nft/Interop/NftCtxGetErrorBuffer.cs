using System.Runtime.InteropServices;

namespace ProtoSwarm.Networking.Nft.Interop;

internal static partial class LibNftables
{
    [LibraryImport(Library, EntryPoint = "nft_ctx_get_error_buffer")]
    internal static partial nint NftCtxGetErrorBuffer(nint ctx);
}
