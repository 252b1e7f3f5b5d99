using System.Diagnostics;
using Process = System.Diagnostics.Process;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using Proto;
using ProtoSwarm.Actors.Managers;
using ProtoSwarm.Actors.Store;
using ProtoSwarm.Contracts;
using ProtoSwarm.Pki;
using ProtoSwarm.Tests.Nodes;
using ProtoSwarm.Tests.Store;

namespace ProtoSwarm.Tests.Managers;

/// <summary>
/// The leader's API signing through a real CFSSL (Debian's golang-cfssl, `cfssl serve` over HTTPS on 127.0.0.1),
/// which alone holds the key of the root the swarm rotated to (`swarm ca --rotate --ca-cert ROOT --external-ca ...`).
/// scripts/setup.sh installs cfssl; without it these tests fail, saying so.
/// </summary>
public sealed class ExternalCaCfsslTests : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private readonly ActorSystem _system = new();
    private readonly ClusterObject _cluster = TestNodes.SwarmCluster("cluster-1");
    private readonly RootCa _externalRoot = RootCa.Create(DateTimeOffset.UtcNow);
    private readonly List<Process> _cfssl = [];
    private SwarmStore _store = null!;
    private LocalProposer _proposer = null!;
    private PID _api = null!;
    private string _url = string.Empty;

    public async Task InitializeAsync()
    {
        _url = await StartCfsslAsync(usages: ["signing", "key encipherment", "server auth", "client auth"]);
        (_store, _proposer) = LocalProposer.Open(_dir.File("store.db"), TimeProvider.System, NullLogger.Instance);
        await _proposer.ProposeAsync(
        [
            StoreChange.Create(_cluster),
            StoreChange.Create(TestNodes.Manager("leader0000", "mgr", leader: true)),
            StoreChange.Create(TestNodes.Worker("worker1111", "w-ready")),
        ]);
        var (context, _) = TestManagers.Leader(_system, _store, _proposer, "leader0000");
        context = context with { ExternalCa = new CfsslSigner(() => null) };
        _api = _system.Root.Spawn(Props.FromProducer(() => new ManagerApiActor(context, TestManagers.NoAddress)));
    }

    public async Task DisposeAsync()
    {
        foreach (var process in _cfssl)
        {
            if (!process.HasExited)
            {
                process.Kill();
                await process.WaitForExitAsync();
            }

            process.Dispose();
        }

        await _system.ShutdownAsync();
        await _proposer.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task A_Swarm_Rotated_To_A_Root_Only_Cfssl_Holds_Gets_Its_Certificates_From_Cfssl()
    {
        var started = Assert.IsType<CaStatus>(await Ask(new RotateCa("rot", Rotate: true, _externalRoot.CertificatePem, ExternalCas: [new ExternalCa(ExternalCa.Cfssl, _url, _externalRoot.CertificatePem)])));

        var cluster = _store.Current.Get<ClusterObject>(ClusterObject.DefaultId)!;
        Assert.True(started.RotationInProgress);
        Assert.Equal((_externalRoot.CertificatePem, string.Empty), (cluster.RootCaPem, cluster.RootCaKeyPem));

        // A renewal: cfssl signs, the manager checks and hands it out; it chains to the new root and names the node.
        var key = NodeKey.Generate();
        var renewal = await Ask(new RenewCertificate("r1", "worker1111", key.CreateCsr().ToPem()));
        var renewed = Assert.IsType<CertificateIssued>(renewal is CommandRejected rejected ? rejected.Reason : renewal);
        using var certificate = X509Certificate2.CreateFromPem(renewed.CertificatePem);
        var validator = new SwarmCertificateValidator([_externalRoot.ToX509Certificate2()], "cluster-1");
        var peer = validator.Validate(certificate, PeerUsage.Client);
        Assert.True(peer.IsAccepted, peer.Reason);
        Assert.True(validator.Validate(certificate, PeerUsage.Server).IsAccepted);
        Assert.Equal(new SwarmPeer("worker1111", NodeRole.Worker, "cluster-1"), peer.Peer);
        using (var withKey = key.WithCertificate(Pem.ReadCertificate(renewed.CertificatePem)))
        {
            Assert.True(withKey.HasPrivateKey); // the node's own key goes with it
        }

        Assert.Equal(SwarmCa.CurrentRootDigest(cluster), _store.Current.Get<NodeObject>("worker1111")!.CertRootDigest);

        // A join: the new manager's certificate comes from cfssl too, with the manager role.
        var token = cluster.ManagerJoinToken;
        var joined = Assert.IsType<JoinAccepted>(await Ask(new JoinRequest("j1", token, "10.0.0.42", TestNodes.Description("newbie"), NodeKey.Generate().CreateCsr().ToPem())));
        using var managerCertificate = X509Certificate2.CreateFromPem(joined.CertificatePem);
        Assert.Equal(new SwarmPeer(joined.NodeId, NodeRole.Manager, "cluster-1"), validator.Validate(managerCertificate, PeerUsage.Server).Peer);
        var sans = managerCertificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Equal([IPAddress.Parse("10.0.0.42")], sans.EnumerateIPAddresses().ToArray());
        Assert.Equal(["swarm-manager", joined.NodeId, "swarm-ca"], sans.EnumerateDnsNames().ToArray());
    }

    [Fact]
    public async Task A_Cfssl_Profile_Without_Client_Auth_Gives_Certificates_The_Manager_Refuses_Saying_Why()
    {
        var serverOnly = await StartCfsslAsync(usages: ["signing", "key encipherment", "server auth"]);
        Assert.IsType<CaStatus>(await Ask(new RotateCa("rot", Rotate: true, _externalRoot.CertificatePem, ExternalCas: [new ExternalCa(ExternalCa.Cfssl, serverOnly, _externalRoot.CertificatePem)])));

        var refused = Assert.IsType<CommandRejected>(await Ask(new RenewCertificate("r1", "worker1111", NodeKey.Generate().CreateCsr().ToPem())));

        Assert.Equal(RejectCode.Unavailable, refused.Code);
        Assert.True(refused.Reason.Contains($"{serverOnly}: its certificate was refused", StringComparison.Ordinal), refused.Reason);
        Assert.Contains($"{serverOnly}: its certificate was refused: the certificate lacks the extended key usages serverAuth and clientAuth", refused.Reason, StringComparison.Ordinal);
    }

    /// <summary>Starts `cfssl serve` over HTTPS (its TLS certificate from the external root, for 127.0.0.1) signing
    /// with the external root's key, and returns its URL once it accepts connections.</summary>
    private async Task<string> StartCfsslAsync(string[] usages)
    {
        var cfssl = new[] { "/usr/bin/cfssl", "/usr/local/bin/cfssl" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("cfssl is not installed: `apt-get install golang-cfssl` (scripts/setup.sh installs it).");
        var name = Guid.NewGuid().ToString("N")[..8];
        var tlsKey = NodeKey.Generate();
        var tls = _externalRoot.Issue(tlsKey.CreateCsr(), "cfssl", NodeRole.Worker, "tls", [IPAddress.Loopback], DateTimeOffset.UtcNow);
        await File.WriteAllTextAsync(_dir.File($"{name}-ca.pem"), _externalRoot.CertificatePem);
        await File.WriteAllTextAsync(_dir.File($"{name}-ca-key.pem"), _externalRoot.ExportPrivateKeyPem());
        await File.WriteAllTextAsync(_dir.File($"{name}-tls.pem"), Pem.Write(tls));
        await File.WriteAllTextAsync(_dir.File($"{name}-tls-key.pem"), tlsKey.ExportPrivateKeyPem());
        await File.WriteAllTextAsync(_dir.File($"{name}-cfg.json"),
            "{\"signing\":{\"default\":{\"expiry\":\"2160h\",\"usages\":[" + string.Join(",", usages.Select(u => $"\"{u}\"")) + "]}}}");
        var port = FreePort();
        var start = new ProcessStartInfo(cfssl)
        {
            ArgumentList =
            {
                "serve", "-address", "127.0.0.1", "-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "-ca", _dir.File($"{name}-ca.pem"), "-ca-key", _dir.File($"{name}-ca-key.pem"), "-config", _dir.File($"{name}-cfg.json"),
                "-tls-cert", _dir.File($"{name}-tls.pem"), "-tls-key", _dir.File($"{name}-tls-key.pem"),
            },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        var process = Process.Start(start)!;
        _cfssl.Add(process);

        var log = new System.Text.StringBuilder();
        process.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        process.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        for (var i = 0; i < 100; i++)
        {
            if (process.HasExited)
            {
                break;
            }

            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port);
                return $"https://127.0.0.1:{port}";
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }

        lock (log)
        {
            throw new InvalidOperationException($"cfssl serve did not start listening on 127.0.0.1:{port}: {log}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private Task<object> Ask(object message) => _system.Root.RequestAsync<object>(_api, message, TimeSpan.FromSeconds(30));
}
