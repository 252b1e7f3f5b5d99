using System.Security.Cryptography.X509Certificates;
using ProtoSwarm.Networking.Security;
using ProtoSwarm.Pki;

namespace ProtoSwarm.Hosting.Runtime;

/// <summary>
/// A node's certificate, key and trusted root on its own disk (certificates/ under the state directory).
/// The key is written by the node that generated it, readable by root only, and never sent anywhere.
/// </summary>
public sealed class NodeCertificateFiles
{
    public const string RootFile = "swarm-root-ca.crt";
    public const string CertificateFile = "swarm-node.crt";
    public const string KeyFile = "swarm-node.key";

    private readonly string _dir;

    public NodeCertificateFiles(string dir) => _dir = dir;

    public string RootPath => Path.Combine(_dir, RootFile);

    public string CertificatePath => Path.Combine(_dir, CertificateFile);

    public string KeyPath => Path.Combine(_dir, KeyFile);

    public bool Exist => File.Exists(RootPath) && File.Exists(CertificatePath) && File.Exists(KeyPath);

    /// <summary>Saves all three; the key first, so a certificate on disk always has its key.</summary>
    public void Save(string rootPem, string certificatePem, string keyPem)
    {
        Directory.CreateDirectory(_dir);
        File.SetUnixFileMode(_dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        WriteAtomically(KeyPath, keyPem, secret: true);
        WriteAtomically(CertificatePath, certificatePem, secret: false);
        WriteAtomically(RootPath, rootPem, secret: false);
    }

    public string ReadKeyPem() => File.ReadAllText(KeyPath);

    public string ReadRootPem() => File.ReadAllText(RootPath);

    /// <summary>
    /// The node's credentials for TLS, trusting the saved root(s) for <paramref name="clusterId"/>. swarm-node.crt holds the
    /// node's certificate and, during a CA rotation, the cross-signed new root after it (as docker's does).
    /// </summary>
    public SwarmCredentials Load(string clusterId) =>
        SwarmCredentials.FromPem(File.ReadAllText(CertificatePath), ReadKeyPem(), ReadRootPem(), clusterId);

    /// <summary>When the node should ask for a new certificate: a random point between 50% and 80% of its life.</summary>
    public DateTimeOffset RenewAt(Random random)
    {
        using var certificate = X509CertificateLoader.LoadCertificateFromFile(CertificatePath);
        return CertificateRenewal.RenewAt(certificate, random);
    }

    public void Delete()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    public static SwarmCertificateValidator Validator(string rootPem, string clusterId) =>
        new(X509Conversions.ReadCertificates(rootPem), clusterId);

    /// <summary>Only the roots file changes: the roots to trust moved on (a CA rotation started or finished).</summary>
    public void SaveRoots(string rootsPem) => WriteAtomically(RootPath, rootsPem, secret: false);

    private static void WriteAtomically(string path, string text, bool secret)
    {
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = secret ? UnixFileMode.UserRead | UnixFileMode.UserWrite : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
        }))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(text);
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }
}
