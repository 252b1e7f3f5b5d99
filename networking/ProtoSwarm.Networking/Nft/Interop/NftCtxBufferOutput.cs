using System.Runtime.InteropServices;

namespace ProtoSwarm.Networking.Nft.Interop;

internal static partial class LibNftables
{
    [LibraryImport(Library, EntryPoint = "nft_ctx_buffer_output")]
    internal static partial int NftCtxBufferOutput(nint ctx);
}
