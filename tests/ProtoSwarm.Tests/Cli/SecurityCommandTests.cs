using ProtoSwarm.Client;
using ProtoSwarm.Contracts;
using ProtoSwarm.Pki;
using ProtoSwarm.Tests.Pki;

namespace ProtoSwarm.Tests.Cli;

/// <summary>The PKI and autolock commands against a fake node: what they send, print and write.</summary>
public sealed class SecurityCommandTests : IDisposable
{
    private const string Key = "SWMKEY-1-jrIKewsa0PU0EICE3VeREj+eTDr+9IFozqxDYHh8JQI";
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "protoswarm-cli-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public async Task Join_Token_Rotate_Asks_For_A_Rotation_And_Says_So()
    {
        var node = new FakeNode(r => new JoinTokenInfo(NodeRole.Worker, "SWMTKN-1-new", "10.0.0.1:2377"));

        var (code, output, _) = await CliHarness.RunAsync(node, "swarm", "join-token", "--rotate", "worker");

        Assert.Equal(0, code);
        Assert.Equal(new GetJoinToken(((GetJoinToken)node.Requests[0]).RequestId, NodeRole.Worker, Rotate: true), node.Requests[0]);
        Assert.StartsWith("Successfully rotated worker join token.", output, StringComparison.Ordinal);
        Assert.Contains("--token SWMTKN-1-new 10.0.0.1:2377", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ca_Rotate_Off_A_Terminal_Prints_Dockers_Progress_Lines_Only_When_They_Change_And_Ends_With_The_Final_State()
    {
        const string Root = "-----BEGIN CERTIFICATE-----\nnew\n-----END CERTIFICATE-----\n";
        // Renewed nodes, then nodes trusting the new root alone, which they report after the rotation ended.
        var counts = new Queue<(int Renewed, int Trusting)>([(3, 0), (3, 0), (4, 0), (5, 0), (5, 4), (5, 5)]);
        var node = new FakeNode(_ =>
        {
            var (renewed, trusting) = counts.Dequeue();
            return new CaStatus(Root, renewed < 5, renewed, 5, trusting, Root);
        });

        var (code, output, error) = await CliHarness.RunAsync(node, "swarm", "ca", "--rotate");

        Assert.Equal(0, code);
        Assert.Equal(6, node.Requests.Count);
        var digest = "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Root)));
        Assert.Equal(
            $"desired root digest: {digest}\n" +
            "  rotated TLS certificates:  [" + Bar(30) + "] 3/5 nodes\n" +
            "  rotated CA certificates:   [" + Bar(0) + "] 0/5 nodes\n" +
            "  rotated TLS certificates:  [" + Bar(40) + "] 4/5 nodes\n" +
            "  rotated TLS certificates:  [" + Bar(50) + "] 5/5 nodes\n" +
            "  rotated CA certificates:   [" + Bar(40) + "] 4/5 nodes\n" +
            "  rotated CA certificates:   [" + Bar(50) + "] 5/5 nodes\n",
            error);
        Assert.Equal(Root, output);
    }

    [Fact]
    public async Task Ca_Rotate_With_A_Given_Root_Sends_The_Texts_Of_Its_Certificate_And_Key_Files()
    {
        Directory.CreateDirectory(_dir);
        var root = RootCa.Create(DateTimeOffset.UtcNow);
        var (certFile, keyFile) = (Path.Combine(_dir, "ca.pem"), Path.Combine(_dir, "ca-key.pem"));
        await File.WriteAllTextAsync(certFile, root.CertificatePem);
        await File.WriteAllTextAsync(keyFile, root.ExportPrivateKeyPem());
        var node = new FakeNode(_ => new CaStatus(root.CertificatePem, true, 0, 3));

        var (code, output, error) = await CliHarness.RunAsync(node, "swarm", "ca", "--rotate", "--ca-cert", certFile, "--ca-key", keyFile, "--detach");

        Assert.True(code == 0, error);
        var sent = Assert.IsType<RotateCa>(Assert.Single(node.Requests));
        Assert.Equal((true, root.CertificatePem, root.ExportPrivateKeyPem()), (sent.Rotate, sent.CaCertPem, sent.CaKeyPem));
        Assert.DoesNotContain("PRIVATE KEY", sent.ToString(), StringComparison.Ordinal);
        Assert.Equal(root.CertificatePem, output);
    }

    [Theory]
    [InlineData("`--ca-cert` flag requires the `--rotate` flag to update the CA", "swarm", "ca", "--ca-cert", "ca.pem", "--ca-key", "ca-key.pem")]
    [InlineData("`--ca-key` flag requires the `--rotate` flag to update the CA", "swarm", "ca", "--ca-key", "ca-key.pem")]
    [InlineData("the --ca-cert flag requires that a --ca-key flag and/or --external-ca flag be provided as well", "swarm", "ca", "--rotate", "--ca-cert", "ca.pem")]
    [InlineData("`--cert-expiry` flag requires the `--rotate` flag to update the CA", "swarm", "ca", "--cert-expiry", "720h")]
    [InlineData("`--external-ca` flag requires the `--rotate` flag to update the CA", "swarm", "ca", "--external-ca", "protocol=cfssl,url=https://ca.example:8888")]
    [InlineData("rotating to an external CA requires the `--ca-cert` flag to specify the external CA's cert - to add an external CA with the current root CA certificate, use the `update` command instead", "swarm", "ca", "--rotate", "--external-ca", "protocol=cfssl,url=https://ca.example:8888")]
    [InlineData("--cert-expiry '3 days' is not a duration", "swarm", "ca", "--rotate", "--cert-expiry", "3 days")]
    [InlineData("the --ca-key flag requires the --ca-cert flag", "swarm", "ca", "--rotate", "--ca-key", "ca-key.pem")]
    [InlineData("--ca-cert /nonexistent/ca.pem: no such file; give the path of a PEM file", "swarm", "ca", "--rotate", "--ca-cert", "/nonexistent/ca.pem", "--ca-key", "/nonexistent/ca-key.pem")]
    public async Task Ca_Refuses_Root_Files_It_Cannot_Use_As_Docker_Does(string expected, params string[] args)
    {
        var node = new FakeNode(_ => throw new InvalidOperationException("nothing should be sent"));

        var (code, _, error) = await CliHarness.RunAsync(node, args);

        Assert.Equal(1, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Empty(node.Requests);
    }

    [Fact]
    public async Task Ca_Rotate_With_A_Cert_Expiry_Sends_It_In_Seconds_With_The_Rotation()
    {
        var node = new FakeNode(_ => new CaStatus("root", true, 0, 3));

        var (code, _, error) = await CliHarness.RunAsync(node, "swarm", "ca", "--rotate", "--cert-expiry", "720h", "--detach");

        Assert.True(code == 0, error);
        var sent = Assert.IsType<RotateCa>(Assert.Single(node.Requests));
        Assert.Equal((true, 720L * 3600, string.Empty), (sent.Rotate, sent.CertExpirySeconds, sent.CaCertPem));
    }

    [Fact]
    public async Task Ca_Rotate_To_A_Root_Without_Its_Key_Sends_The_External_Cas_As_Signing_With_That_Root()
    {
        Directory.CreateDirectory(_dir);
        var root = RootCa.Create(DateTimeOffset.UtcNow);
        var certFile = Path.Combine(_dir, "ca.pem");
        await File.WriteAllTextAsync(certFile, root.CertificatePem);
        var node = new FakeNode(_ => new CaStatus(root.CertificatePem, true, 0, 3));

        var (code, _, error) = await CliHarness.RunAsync(node, "swarm", "ca", "--rotate", "--ca-cert", certFile,
            "--external-ca", "protocol=cfssl,url=https://ca1.example:8888", "--external-ca", "protocol=CFSSL,url=https://ca2.example/api/v1/cfssl/sign", "--detach");

        Assert.True(code == 0, error);
        var sent = Assert.IsType<RotateCa>(Assert.Single(node.Requests));
        Assert.Equal((root.CertificatePem, string.Empty), (sent.CaCertPem, sent.CaKeyPem));
        Assert.Equal(
            [new ExternalCa("cfssl", "https://ca1.example:8888", root.CertificatePem), new ExternalCa("cfssl", "https://ca2.example/api/v1/cfssl/sign", root.CertificatePem)],
            sent.ExternalCas.ToArray());
    }

    [Fact]
    public async Task Swarm_Update_And_Init_Send_The_External_Cas_With_The_Ca_Cert_File_Read()
    {
        Directory.CreateDirectory(_dir);
        var root = RootCa.Create(DateTimeOffset.UtcNow);
        var certFile = Path.Combine(_dir, "tls-ca.pem");
        await File.WriteAllTextAsync(certFile, root.CertificatePem);
        var update = new FakeNode(_ => new SwarmUpdated("c1", 0));
        var init = new FakeNode(_ => new InitSwarmAck("n1", "c1", "SWMTKN-1-x", "10.0.0.1:2377"));

        var (code, output, error) = await CliHarness.RunAsync(update, "swarm", "update", "--external-ca", $"protocol=cfssl,\"url=https://ca.example:8888\",cacert={certFile}");
        var (initCode, _, initError) = await CliHarness.RunAsync(init, "swarm", "init", "--external-ca", "protocol=cfssl,url=https://ca.example:8888");

        Assert.True(code == 0, error);
        Assert.Equal("Swarm updated.\n", output);
        Assert.Equal([new ExternalCa("cfssl", "https://ca.example:8888", root.CertificatePem)], ((UpdateSwarm)update.Requests.Single()).ExternalCas.ToArray());
        Assert.True(initCode == 0, initError);
        Assert.Equal([new ExternalCa("cfssl", "https://ca.example:8888")], ((InitSwarm)init.Requests.Single()).ExternalCas.ToArray());
    }

    [Theory]
    [InlineData("the external-ca option needs a protocol= parameter", "url=https://ca.example:8888")]
    [InlineData("the external-ca option needs a url= parameter", "protocol=cfssl")]
    [InlineData("unrecognized external CA protocol acme", "protocol=acme,url=https://ca.example:8888")]
    [InlineData("invalid field 'cfssl' must be a key=value pair", "cfssl,url=https://ca.example:8888")]
    [InlineData("unknown field 'proto'; the fields are protocol, url and cacert", "proto=cfssl,url=https://ca.example:8888")]
    [InlineData("--external-ca cacert=/nonexistent/ca.pem: unable to read CA cert for external CA (no such file)", "protocol=cfssl,url=https://ca.example:8888,cacert=/nonexistent/ca.pem")]
    public async Task An_External_Ca_That_Cannot_Be_Read_Is_Refused_Before_Anything_Is_Sent(string expected, string spec)
    {
        var node = new FakeNode(_ => throw new InvalidOperationException("nothing should be sent"));

        var (code, _, error) = await CliHarness.RunAsync(node, "swarm", "update", "--external-ca", spec);

        Assert.Equal(1, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Empty(node.Requests);
    }

    /// <summary>Docker's 50-character bar, <paramref name="filled"/> of it done.</summary>
    private static string Bar(int filled) => new string('=', filled) + ">" + new string(' ', 50 - filled);

    [Theory]
    [InlineData("720h", 720 * 3600)]
    [InlineData("1h30m", 5400)]
    [InlineData("90m", 5400)]
    public async Task Swarm_Update_Sends_The_Cert_Expiry_In_Seconds(string given, long seconds)
    {
        var node = new FakeNode(_ => new SwarmUpdated("c1", seconds));

        var (code, output, _) = await CliHarness.RunAsync(node, "swarm", "update", "--cert-expiry", given);

        Assert.Equal(0, code);
        Assert.Equal(seconds, ((UpdateSwarm)node.Requests.Single()).CertExpirySeconds);
        Assert.Equal("Swarm updated.\n", output);
    }

    [Theory]
    [InlineData(10, "swarm", "update", "--task-history-limit", "10")]
    [InlineData(0, "swarm", "update", "--task-history-limit", "0")]
    [InlineData(-1, "swarm", "update", "--task-history-limit=-1")]
    [InlineData(-1, "swarm", "update", "--task-history-limit", "-1")]
    public async Task Swarm_Update_Sends_The_Task_History_Limit(long limit, params string[] args)
    {
        var node = new FakeNode(_ => new SwarmUpdated("c1", 7_776_000));

        var (code, output, error) = await CliHarness.RunAsync(node, args);

        Assert.True(code == 0, error);
        var sent = (UpdateSwarm)node.Requests.Single();
        Assert.Equal(limit, sent.TaskHistoryLimit);
        Assert.Null(sent.CertExpirySeconds);
        Assert.Equal("Swarm updated.\n", output);
    }

    [Fact]
    public async Task Swarm_Init_Sends_The_Task_History_Limit_Given_And_None_Otherwise()
    {
        var node = new FakeNode(_ => new InitSwarmAck("n1", "c1", "SWMTKN-1-digest-secret", "10.0.0.1:2377"));

        var (given, _, error) = await CliHarness.RunAsync(node, "swarm", "init", "--task-history-limit", "3");
        var (left, _, _) = await CliHarness.RunAsync(node, "swarm", "init");

        Assert.True(given == 0 && left == 0, error);
        Assert.Equal(new long?[] { 3, null }, node.Requests.Cast<InitSwarm>().Select(r => r.TaskHistoryLimit));
    }

    [Theory]
    [InlineData("--task-history-limit 'five' is not a whole number", "swarm", "update", "--task-history-limit", "five")]
    [InlineData("--task-history-limit '2.5' is not a whole number", "swarm", "init", "--task-history-limit", "2.5")]
    [InlineData("--cert-expiry '3 days' is not a duration", "swarm", "update", "--cert-expiry", "3 days")]
    [InlineData("Nothing to update", "swarm", "update")]
    public async Task Swarm_Update_Refuses_What_It_Cannot_Use(string expected, params string[] args)
    {
        var node = new FakeNode(_ => throw new InvalidOperationException("nothing should be sent"));

        var (code, _, error) = await CliHarness.RunAsync(node, args);

        Assert.Equal(1, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Empty(node.Requests);
    }

    [Fact]
    public async Task Turning_Autolock_On_Prints_The_Unlock_Key_Once()
    {
        var node = new FakeNode(_ => new SwarmUpdated("c1", 7_776_000, AutoLock: true, NewUnlockKey: Key));

        var (code, output, _) = await CliHarness.RunAsync(node, "swarm", "update", "--autolock=true");

        Assert.Equal(0, code);
        Assert.True(((UpdateSwarm)node.Requests.Single()).AutoLock);
        Assert.Contains("    " + Key + "\n", output, StringComparison.Ordinal);
        Assert.Contains("swarm unlock", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unlock_Key_Quiet_Prints_Only_The_Key()
    {
        var node = new FakeNode(_ => new UnlockKeyInfo(Key));

        var (code, output, _) = await CliHarness.RunAsync(node, "swarm", "unlock-key", "-q");

        Assert.Equal(0, code);
        Assert.Equal(Key + "\n", output);
    }

    [Fact]
    public async Task Issue_Client_Sends_A_Csr_And_Writes_The_Certificate_With_A_Private_Key_Only_Root_Reads()
    {
        var pki = new TestPki();
        var node = new FakeNode(request =>
        {
            var csr = NodeCsr.FromPem(((IssueClientCertificate)request).CsrPem);
            var certificate = pki.Ca.IssueClient(csr, "client-1", TestPki.ClusterId, TimeSpan.FromDays(1), DateTimeOffset.UtcNow);
            return new CertificateIssued(Pem.Write(certificate), pki.Ca.CertificatePem, NodeRole.Worker, "client-1");
        });

        var (code, output, error) = await CliHarness.RunAsync(node, "ca", "issue-client", "--out", _dir);

        Assert.True(code == 0, error);
        Assert.Contains("client-1", output, StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_dir, ClientCertificates.KeyFile)));
        var loaded = ClientCertificates.Load(_dir);
        Assert.True(loaded.Self.IsClient);
        Assert.True(loaded.Certificate.HasPrivateKey);
        Assert.DoesNotContain("PRIVATE KEY", ((IssueClientCertificate)node.Requests.Single()).CsrPem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_Missing_Client_Certificate_Directory_Is_Named_With_What_To_Do()
    {
        var refused = Assert.Throws<SwarmCommandException>(() => ClientCertificates.Load(_dir));

        Assert.Contains("ca issue-client", refused.Message, StringComparison.Ordinal);
        Assert.Contains(_dir, refused.Message, StringComparison.Ordinal);
    }
}
