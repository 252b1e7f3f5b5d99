namespace ProtoSwarm.Cli.Commands;

/// <summary>Docker's `[y/N]` prompts (`network rm ingress`, `volume prune`): the question on stdout, one line read back.</summary>
internal static class Confirmation
{
    /// <summary>Asks; only "y" or "yes" (any case) goes on, and anything else, or no input at all, is a "no".</summary>
    public static async Task<bool> AskAsync(CliContext cli, TextReader input, string prompt, CancellationToken ct)
    {
        await cli.Out.WriteAsync(prompt);
        await cli.Out.FlushAsync(ct);
        var answer = (await input.ReadLineAsync(ct))?.Trim();
        return string.Equals(answer, "y", StringComparison.OrdinalIgnoreCase) || string.Equals(answer, "yes", StringComparison.OrdinalIgnoreCase);
    }
}
