using System.Runtime.InteropServices;

namespace ProtoSwarm.Networking.Nft.Interop;

internal static partial class LibNftables
{
    /// <summary>Runs every command in the buffer as one transaction: all of it or none.</summary>
    [LibraryImport(Library, EntryPoint = "nft_run_cmd_from_buffer")]
    internal static partial int NftRunCmdFromBuffer(nint ctx, [MarshalAs(UnmanagedType.LPUTF8Str)] string buffer);
}
