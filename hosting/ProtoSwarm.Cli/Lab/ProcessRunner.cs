using System.ComponentModel;
using System.Diagnostics;

namespace ProtoSwarm.Cli.Lab;

internal sealed record ProcessResult(int ExitCode, string StdOut, string StdErr);

/// <summary>Runs the small tools the lab is built with (ip, kill, umount) and captures their output.</summary>
internal static class ProcessRunner
{
    public static async Task<ProcessResult> RunAsync(string file, IEnumerable<string> arguments, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            psi.ArgumentList.Add(argument);
        }

        using var process = Start(psi);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct).ConfigureAwait(false);
        return new ProcessResult(process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
    }

    /// <summary>Runs a tool and returns its output; a non-zero exit becomes a <see cref="LabException"/>.</summary>
    public static async Task<string> RunCheckedAsync(string file, IReadOnlyList<string> arguments, CancellationToken ct)
    {
        var result = await RunAsync(file, arguments, ct).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new LabException(
                $"`{file} {string.Join(' ', arguments)}` failed (exit {result.ExitCode}): {result.StdErr.Trim()}");
        }

        return result.StdOut;
    }

    public static Process Start(ProcessStartInfo psi)
    {
        try
        {
            return Process.Start(psi) ?? throw new LabException($"Could not start {psi.FileName}.");
        }
        catch (Win32Exception e)
        {
            throw new LabException($"Could not run '{psi.FileName}': {e.Message}. Is it installed and on PATH?", e);
        }
    }
}
