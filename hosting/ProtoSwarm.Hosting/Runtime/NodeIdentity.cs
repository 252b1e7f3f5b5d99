using System.Collections.Immutable;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Reflection;
using System.Runtime.InteropServices;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Hosting.Runtime;

/// <summary>What a node says about itself, and how it picks the address it advertises.</summary>
public static class NodeIdentity
{
    /// <summary>The control API's version; the CLI reports the same number for its side.</summary>
    public const string ApiVersion = "1";

    public static string EngineVersion { get; } =
        typeof(NodeIdentity).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? "0.0.0";

    /// <summary>The node as it describes itself; <paramref name="registryListen"/>: its `--registry-listen`, whose
    /// port it reports so that the managers refuse to publish it; <paramref name="engineLabels"/>: its `--label`s.</summary>
    public static NodeDescription Describe(string hostname, IPEndPoint? registryListen = null, ImmutableSortedDictionary<string, string>? engineLabels = null) => new(
        hostname,
        "linux",
        RuntimeInformation.OSArchitecture switch
        {
            Architecture.X64 => "x86_64",
            Architecture.Arm64 => "aarch64",
            var other => other.ToString().ToLowerInvariant(),
        },
        Environment.ProcessorCount * 1_000_000_000L,
        GC.GetGCMemoryInfo().TotalAvailableMemoryBytes,
        EngineVersion,
        RegistryPort: registryListen?.Port ?? 0,
        EngineLabels: engineLabels);

    public static VersionInfo Version() => new(
        EngineVersion,
        ApiVersion,
        "linux",
        RuntimeInformation.OSArchitecture switch
        {
            // docker's `version` names architectures as Go does
            Architecture.X64 => "amd64",
            Architecture.Arm64 => "arm64",
            var other => other.ToString().ToLowerInvariant(),
        },
        RuntimeInformation.FrameworkDescription);

    /// <summary>
    /// The address to advertise: the one asked for, else the listen address when it is specific,
    /// else the machine's only non-loopback IPv4 address. Several candidates: refuse, as docker does.
    /// </summary>
    public static (IPAddress? Address, string? Error) ChooseAdvertiseAddr(string? requested, IPAddress? configured, IPEndPoint listen)
    {
        if (!string.IsNullOrWhiteSpace(requested))
        {
            return Options.NodeOptionsParser.TryParseEndpoint(requested, Options.NodeOptions.DefaultPort, out var endpoint)
                   && endpoint.Address is var parsed && !parsed.Equals(IPAddress.Any) && !parsed.Equals(IPAddress.IPv6Any)
                ? (parsed, null)
                : (null, $"--advertise-addr {requested}: expected this node's IP address as other nodes reach it, e.g. 10.0.0.1.");
        }

        if (configured is not null)
        {
            return (configured, null);
        }

        if (!listen.Address.Equals(IPAddress.Any) && !listen.Address.Equals(IPAddress.IPv6Any))
        {
            return (listen.Address, null);
        }

        var candidates = NetworkInterface.GetAllNetworkInterfaces()
            .Where(i => i.OperationalStatus is OperationalStatus.Up or OperationalStatus.Unknown && i.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(i => i.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .Where(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))
            .Distinct()
            .ToList();
        return candidates.Count switch
        {
            1 => (candidates[0], null),
            0 => (IPAddress.Loopback, null),
            _ => (null, $"This machine has several addresses ({string.Join(", ", candidates)}); choose the one other nodes reach it by with --advertise-addr."),
        };
    }
}
