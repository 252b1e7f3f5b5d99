using ProtoSwarm.Contracts;
using ProtoSwarm.Networking.Security;

namespace ProtoSwarm.Client;

/// <summary>
/// An operator's client certificate on disk, as docker names TLS client files: ca.pem (the swarm's root),
/// cert.pem and key.pem (0600). `protoswarm ca issue-client --out DIR` writes them; the key is made by the
/// CLI and never leaves the machine it runs on.
/// </summary>
public static class ClientCertificates
{
    public const string CaFile = "ca.pem";
    public const string CertificateFile = "cert.pem";
    public const string KeyFile = "key.pem";

    /// <summary>The directory `PROTOSWARM_CERT_PATH` names, or null.</summary>
    public static string? DefaultDirectory() => Environment.GetEnvironmentVariable("PROTOSWARM_CERT_PATH") is { Length: > 0 } dir ? dir : null;

    public static void Save(string dir, CertificateIssued issued, string keyPem)
    {
        Directory.CreateDirectory(dir);
        Write(Path.Combine(dir, KeyFile), keyPem, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Write(Path.Combine(dir, CertificateFile), issued.CertificatePem, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        Write(Path.Combine(dir, CaFile), issued.RootCaPem, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
    }

    /// <summary>Loads a client certificate directory; a missing or unreadable file is a <see cref="SwarmCommandException"/> that names it.</summary>
    public static SwarmCredentials Load(string dir)
    {
        foreach (var file in new[] { CaFile, CertificateFile, KeyFile })
        {
            if (!File.Exists(Path.Combine(dir, file)))
            {
                throw new SwarmCommandException(RejectCode.InvalidArgument,
                    $"{Path.Combine(dir, file)} is missing; a client certificate directory holds {CaFile}, {CertificateFile} and {KeyFile}. Make one on a manager with `protoswarm ca issue-client --out {dir}`.");
            }
        }

        try
        {
            return SwarmCredentials.FromPem(
                File.ReadAllText(Path.Combine(dir, CertificateFile)), File.ReadAllText(Path.Combine(dir, KeyFile)), File.ReadAllText(Path.Combine(dir, CaFile)));
        }
        catch (Exception e) when (e is FormatException or ArgumentException or IOException or System.Security.Cryptography.CryptographicException)
        {
            throw new SwarmCommandException(RejectCode.InvalidArgument, $"The client certificate in {dir} could not be read: {e.Message}.");
        }
    }

    private static void Write(string path, string text, UnixFileMode mode)
    {
        File.Delete(path);
        using var stream = new FileStream(path, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = mode });
        using var writer = new StreamWriter(stream);
        writer.Write(text);
    }
}
