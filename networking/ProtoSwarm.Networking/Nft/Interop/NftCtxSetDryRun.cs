using System.Runtime.InteropServices;

namespace ProtoSwarm.Networking.Nft.Interop;

internal static partial class LibNftables
{
    [LibraryImport(Library, EntryPoint = "nft_ctx_set_dry_run")]
    internal static partial void NftCtxSetDryRun(nint ctx, [MarshalAs(UnmanagedType.U1)] bool dry);
}
