using System.Runtime.InteropServices;

namespace ProtoSwarm.Networking.Nft.Interop;

internal static partial class LibNftables
{
    [LibraryImport(Library, EntryPoint = "nft_ctx_get_output_buffer")]
    internal static partial nint NftCtxGetOutputBuffer(nint ctx);
}
