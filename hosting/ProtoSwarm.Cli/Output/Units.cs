using System.Globalization;

namespace ProtoSwarm.Cli.Output;

/// <summary>Sizes and counts printed the way docker's go-units prints them.</summary>
internal static class Units
{
    private static readonly string[] BinaryUnits = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

    /// <summary>go-units BytesSize: binary units, four significant digits ("7.704GiB").</summary>
    public static string BytesSize(long bytes)
    {
        double size = bytes;
        var unit = 0;
        while (size >= 1024 && unit < BinaryUnits.Length - 1)
        {
            size /= 1024;
            unit++;
        }

        return size.ToString("G4", CultureInfo.InvariantCulture) + BinaryUnits[unit];
    }

    /// <summary>Nano-CPUs as a number of CPUs without trailing zeros ("4", "0.5").</summary>
    public static string Cpus(long nanoCpus) =>
        (nanoCpus / 1e9).ToString("R", CultureInfo.InvariantCulture);
}
