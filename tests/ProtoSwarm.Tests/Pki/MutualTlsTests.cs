using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using ProtoSwarm.Contracts;
using ProtoSwarm.Pki;
using ProtoSwarm.Tests.Contracts;
using Xunit.Abstractions;

namespace ProtoSwarm.Tests.Pki;

/// <summary>Real TLS over loopback: SslStream on both ends, each validating the other with the swarm validator.</summary>
public class MutualTlsTests(ITestOutputHelper output)
{
    private static readonly TestPki Swarm = new();
    private static readonly TestPki Stranger = new();

    private sealed record Outcome(PeerValidation? ServerSaw, PeerValidation? ClientSaw, Exception? ServerError, Exception? ClientError)
    {
        public bool Exchanged => ServerError is null && ClientError is null;
    }

    [Fact]
    public async Task Two_Swarm_Nodes_Complete_A_Handshake_And_Learn_Each_Others_Identity()
    {
        using var manager = Swarm.Node("manager-1", NodeRole.Manager);
        using var worker = Swarm.Node("worker-1", NodeRole.Worker);

        var outcome = await Handshake(manager, Swarm.Validator(), worker, Swarm.Validator());

        Assert.True(outcome.Exchanged, $"{outcome.ServerError} {outcome.ClientError}");
        Assert.Equal(new SwarmPeer("worker-1", NodeRole.Worker, TestPki.ClusterId), outcome.ServerSaw?.Peer);
        Assert.Equal(new SwarmPeer("manager-1", NodeRole.Manager, TestPki.ClusterId), outcome.ClientSaw?.Peer);
    }

    [Fact]
    public async Task A_Client_With_Another_Cas_Certificate_Is_Refused()
    {
        using var manager = Swarm.Node("manager-1", NodeRole.Manager);
        using var intruder = Stranger.Node("worker-1");

        var outcome = await Handshake(manager, Swarm.Validator(), intruder, Swarm.Validator());

        Assert.False(outcome.Exchanged);
        Assert.NotNull(outcome.ServerError);
        Assert.Equal(CertificateRefusal.UntrustedIssuer, outcome.ServerSaw?.Refusal);
    }

    [Fact]
    public async Task A_Client_Without_A_Certificate_Is_Refused()
    {
        using var manager = Swarm.Node("manager-1", NodeRole.Manager);

        var outcome = await Handshake(manager, Swarm.Validator(), null, Swarm.Validator());

        Assert.False(outcome.Exchanged);
        Assert.NotNull(outcome.ServerError);
        Assert.Equal(CertificateRefusal.NoCertificate, outcome.ServerSaw?.Refusal);
    }

    [Fact]
    public async Task A_Removed_Node_Is_Refused_At_The_Handshake()
    {
        using var manager = Swarm.Node("manager-1", NodeRole.Manager);
        using var removed = Swarm.Node("worker-9");

        var outcome = await Handshake(manager, Swarm.Validator(new HashSet<string> { "worker-9" }), removed, Swarm.Validator());

        Assert.False(outcome.Exchanged);
        Assert.Equal(CertificateRefusal.RemovedNode, outcome.ServerSaw?.Refusal);
    }

    [Fact]
    public async Task A_Client_Refuses_A_Server_From_Another_Ca()
    {
        using var impostor = Stranger.Node("manager-1", NodeRole.Manager);
        using var worker = Swarm.Node("worker-1");

        var outcome = await Handshake(impostor, Stranger.Validator(), worker, Swarm.Validator());

        Assert.False(outcome.Exchanged);
        Assert.NotNull(outcome.ClientError);
        Assert.Equal(CertificateRefusal.UntrustedIssuer, outcome.ClientSaw?.Refusal);
    }

    [Fact]
    public async Task During_A_Rotation_A_Client_On_The_New_Root_Is_Accepted_By_A_Server_Trusting_Only_The_Old_Root()
    {
        var next = new TestPki();
        using var manager = Swarm.Node("manager-1", NodeRole.Manager);
        using var renewed = next.Node("worker-1");
        using var crossSigned = X509Conversions.ToX509Certificate2(Swarm.Ca.CrossSign(next.Ca));
        var bothRoots = new SwarmCertificateValidator([Swarm.Ca.ToX509Certificate2(), next.Ca.ToX509Certificate2()], TestPki.ClusterId);

        var outcome = await Handshake(manager, Swarm.Validator(), renewed, bothRoots, [crossSigned]);

        Assert.True(outcome.Exchanged, $"{outcome.ServerSaw} {outcome.ServerError} {outcome.ClientError}");
        Assert.Equal("worker-1", outcome.ServerSaw?.Peer?.NodeId);
    }

    private async Task<Outcome> Handshake(
        X509Certificate2 serverCertificate, SwarmCertificateValidator serverValidator,
        X509Certificate2? clientCertificate, SwarmCertificateValidator clientValidator,
        X509Certificate2[]? clientIntermediates = null)
    {
        var ct = TestTimeout.Token;
        PeerValidation? serverSaw = null, clientSaw = null;
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;

        var server = Task.Run(async () =>
        {
            using var tcp = await listener.AcceptTcpClientAsync(ct);
            await using var tls = new SslStream(tcp.GetStream());
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificateContext = SslStreamCertificateContext.Create(serverCertificate, null, offline: true),
                ClientCertificateRequired = true,
                RemoteCertificateValidationCallback = serverValidator.CreateCallback(PeerUsage.Client, r => serverSaw = r),
            }, ct);
            var buffer = new byte[5];
            await tls.ReadExactlyAsync(buffer, ct);
            await tls.WriteAsync(buffer, ct);
        }, ct);

        var client = Task.Run(async () =>
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(IPAddress.Loopback, port, ct);
            await using var tls = new SslStream(tcp.GetStream());
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "127.0.0.1",
                ClientCertificateContext = clientCertificate is null
                    ? null
                    : SslStreamCertificateContext.Create(clientCertificate, [.. clientIntermediates ?? []], offline: true),
                RemoteCertificateValidationCallback = clientValidator.CreateCallback(PeerUsage.Server, r => clientSaw = r),
            }, ct);
            await tls.WriteAsync("hello"u8.ToArray(), ct);
            var echo = new byte[5];
            await tls.ReadExactlyAsync(echo, ct);
            Assert.Equal("hello"u8.ToArray(), echo);
        }, ct);

        var serverError = await Capture(server);
        var clientError = await Capture(client);
        output.WriteLine($"server saw: {serverSaw?.ToString() ?? "-"}; server error: {serverError?.GetType().Name ?? "none"}");
        output.WriteLine($"client saw: {clientSaw?.ToString() ?? "-"}; client error: {clientError?.GetType().Name ?? "none"}");
        return new Outcome(serverSaw, clientSaw, serverError, clientError);
    }

    private static async Task<Exception?> Capture(Task task)
    {
        try
        {
            await task;
            return null;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return e;
        }
    }
}
