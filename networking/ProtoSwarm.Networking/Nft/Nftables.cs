using System.Runtime.InteropServices;
using ProtoSwarm.Networking.Nft.Interop;

namespace ProtoSwarm.Networking.Nft;

/// <summary>
/// Runs nft command text through libnftables, in one namespace. A context opens its netlink socket in
/// the namespace of the thread that makes it, so each run makes, uses and frees its own context on the
/// runner's thread (with no runner: the calling thread, i.e. the node's own namespace). A run is one
/// netlink transaction: when nft refuses any line, nothing changes and <see cref="NftablesException"/>
/// carries nft's error text.
/// </summary>
public sealed class Nftables(INamespaceRunner? runner = null)
{
    /// <summary>Applies the commands (for example a whole table from a ruleset builder) and returns nft's output.</summary>
    public Task<string> ApplyAsync(string commands) => OnThread(() => Run(commands, dryRun: false));

    /// <summary>Asks the kernel to check the commands without committing them (nft -c).</summary>
    public Task CheckAsync(string commands) => OnThread(() => Run(commands, dryRun: true));

    /// <summary><c>list ruleset</c>, or <c>list table ip NAME</c> and the like.</summary>
    public Task<string> ListAsync(string what = "ruleset") => OnThread(() => Run("list " + what, dryRun: false));

    /// <summary>Runs the commands on the calling thread, in its namespace: for code already on a namespace's thread.</summary>
    public static string Run(string commands, bool dryRun)
    {
        var ctx = LibNftables.NftCtxNew(LibNftables.DefaultFlags);
        if (ctx == 0)
        {
            throw new NftablesException("libnftables could not make a context (nft_ctx_new failed)");
        }

        try
        {
            if (LibNftables.NftCtxBufferOutput(ctx) != 0 || LibNftables.NftCtxBufferError(ctx) != 0)
            {
                throw new NftablesException("libnftables could not buffer its output");
            }

            LibNftables.NftCtxSetDryRun(ctx, dryRun);
            var rc = LibNftables.NftRunCmdFromBuffer(ctx, commands);
            if (rc != 0)
            {
                var error = Marshal.PtrToStringUTF8(LibNftables.NftCtxGetErrorBuffer(ctx))?.Trim();
                throw new NftablesException(string.IsNullOrEmpty(error) ? $"nft failed ({rc}) with no message" : error);
            }

            return Marshal.PtrToStringUTF8(LibNftables.NftCtxGetOutputBuffer(ctx)) ?? "";
        }
        finally
        {
            LibNftables.NftCtxFree(ctx);
        }
    }

    private Task<T> OnThread<T>(Func<T> work) => runner is null ? Task.FromResult(work()) : runner.RunAsync(work);
}
