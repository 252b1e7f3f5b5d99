using System.Collections.Immutable;
using System.Globalization;
using System.Text.RegularExpressions;

namespace ProtoSwarm.Contracts;

/// <summary>
/// The log drivers a node keeps task output with, and their options, checked the same way by the CLI,
/// the stack loader, the managers and the node. json-file (the default) and local both keep the
/// container's output in rotated files on the task's node, read back by `service logs`; none keeps
/// nothing. Remote drivers (syslog, journald, gelf, fluentd...) are not built: refused by name.
/// </summary>
public static partial class LogDriverRule
{
    public const string JsonFile = "json-file";
    public const string Local = "local";
    public const string None = "none";

    public static readonly ImmutableArray<string> Names = [JsonFile, Local, None];

    /// <summary>The smallest file a node rotates at (the container's monitor refuses less).</summary>
    public const long MinimumMaxSize = 4096;

    /// <summary>The defaults when a template names no driver, or one without options: json-file keeps 2 files of 10 MB
    /// (docker's json-file keeps everything unless told; a node of ours never lets a chatty task fill its disk), local 5 of 20 MB as docker's.</summary>
    public static (long MaxBytes, int MaxFiles) Defaults(string name) => name == Local ? (20L << 20, 5) : (10L << 20, 2);

    [GeneratedRegex(@"^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$", RegexOptions.CultureInvariant)]
    private static partial Regex Size();

    /// <summary>What is wrong with a driver and its options, one sentence each with a fix; empty when it is fine.</summary>
    public static ImmutableArray<(string Field, string Problem, string Fix)> Problems(LogDriver driver)
    {
        var problems = ImmutableArray.CreateBuilder<(string, string, string)>();
        if (!Names.Contains(driver.Name))
        {
            problems.Add(("Name", $"log driver \"{driver.Name}\" is not supported", $"use {JsonFile} (the default), {Local} or {None}: nodes keep task output in files that `service logs` reads"));
            return problems.ToImmutable();
        }

        foreach (var (key, value) in driver.Options)
        {
            var problem = (driver.Name, key) switch
            {
                (None, _) => $"the {None} driver takes no options, and {key} is given",
                (_, "max-size") => SizeOf(value) is null ? $"max-size '{value}' is not a size of at least {MinimumMaxSize} bytes" : null,
                (_, "max-file") => int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var files) && files >= 1 ? null : $"max-file '{value}' is not a number of files of 1 or more",
                (_, "compress") => value is "false" ? null : $"compress '{value}': rotated files are kept uncompressed",
                _ => $"log option '{key}' is not supported by {driver.Name}",
            };
            if (problem is not null)
            {
                problems.Add(($"Options[{key}]", problem, driver.Name == None ? "remove the options, or choose json-file" : "use max-size (e.g. 10m), max-file (e.g. 3) or compress=false"));
            }
        }

        return problems.ToImmutable();
    }

    /// <summary>Docker's size for max-size (its RAMInBytes): 4096, 512k, 10m, 1.5g; k, m, g, t, p are powers of 1,024.</summary>
    public static long? SizeOf(string text)
    {
        var match = Size().Match(text.Trim());
        if (!match.Success || !double.TryParse(match.Groups[1].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
        {
            return null;
        }

        var shift = match.Groups[2].Success ? "kmgtp".IndexOf(char.ToLowerInvariant(match.Groups[2].Value[0]), StringComparison.Ordinal) * 10 + 10 : 0;
        var bytes = number * Math.Pow(2, shift);
        return bytes is >= MinimumMaxSize and < long.MaxValue ? (long)bytes : null;
    }

    /// <summary>How a node keeps a task's output: null for the none driver, else the files' size and count.
    /// Call only for a driver without <see cref="Problems"/> (or none: the node's default).</summary>
    public static (long MaxBytes, int MaxFiles)? Files(LogDriver? driver)
    {
        if (driver?.Name == None)
        {
            return null;
        }

        var (maxBytes, maxFiles) = Defaults(driver?.Name ?? JsonFile);
        if (driver is not null && driver.Options.TryGetValue("max-size", out var size) && SizeOf(size) is { } bytes)
        {
            maxBytes = bytes;
        }

        if (driver is not null && driver.Options.TryGetValue("max-file", out var files) && int.TryParse(files, NumberStyles.None, CultureInfo.InvariantCulture, out var count))
        {
            maxFiles = count;
        }

        return (maxBytes, maxFiles);
    }
}
