using System.Security.Cryptography.X509Certificates;
using ProtoSwarm.Pki;

namespace ProtoSwarm.IntegrationTests;

/// <summary>The swarm's PKI as a user meets it: tokens that pin the root, certificates per role, a worker kept out of the managers' API.</summary>
[Trait("Category", "Cluster")]
[Collection(LabCollection.Name)]
public class PkiLabTests
{
    [Fact]
    public async Task The_Worker_Token_Pins_The_Root_And_Each_Node_Holds_A_Certificate_For_Its_Role()
    {
        await using var lab = await LabFixture.UpAsync(managers: 1, workers: 1);
        var token = await lab.ExecAsync("m1", "protoswarm", "swarm", "join-token", "-q", "worker");
        Assert.True(token.ExitCode == 0, token.ToString());

        var root = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(StateDir(lab, "m1"), "certificates", "swarm-root-ca.crt"));
        Assert.Matches("^SWMTKN-1-[0-9a-z]{50}-[0-9a-z]{25}$", token.StdOut.Trim());
        Assert.True(JoinToken.Parse(token.StdOut.Trim()).Matches(root), "the worker token's digest is not the root CA's");
        Assert.Equal("CN=swarm-ca", root.Subject);

        var nodes = await NodeIdsAsync(lab);
        foreach (var (name, unit) in new[] { ("m1", "swarm-manager"), ("w1", "swarm-worker") })
        {
            var dir = Path.Combine(StateDir(lab, name), "certificates");
            using var certificate = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(dir, "swarm-node.crt"));
            Assert.True(SwarmPeer.TryParse(certificate.SubjectName, out var peer, out var error), error);
            Assert.Equal(unit, SwarmRoles.ToUnit(peer!.Role));
            Assert.Equal(name, nodes[peer.NodeId]);
            Assert.Equal(root.Subject, certificate.Issuer);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(dir, "swarm-node.key")));
        }
    }

    [Fact]
    public async Task A_Workers_Certificate_Cannot_Use_The_Managers_Api_But_An_Operators_Can()
    {
        await using var lab = await LabFixture.UpAsync(managers: 1, workers: 1);
        var manager = $"tcp://{(await lab.NodeAsync("m1")).GetProperty("Address").GetString()}:2377";

        // The worker's own node certificate, laid out as a client certificate directory.
        var stolen = Path.Combine(lab.StateRoot, "worker-cert");
        Directory.CreateDirectory(stolen);
        var workerCertificates = Path.Combine(StateDir(lab, "w1"), "certificates");
        File.Copy(Path.Combine(workerCertificates, "swarm-root-ca.crt"), Path.Combine(stolen, "ca.pem"));
        File.Copy(Path.Combine(workerCertificates, "swarm-node.crt"), Path.Combine(stolen, "cert.pem"));
        File.Copy(Path.Combine(workerCertificates, "swarm-node.key"), Path.Combine(stolen, "key.pem"));

        var asWorker = await lab.ExecAsync("w1", "env", $"PROTOSWARM_CERT_PATH={stolen}", "protoswarm", "--host", manager, "node", "promote", "w1");
        Assert.Equal(1, asWorker.ExitCode);
        Assert.Contains("Permission denied", asWorker.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", asWorker.StdErr, StringComparison.Ordinal);

        var operatorDir = Path.Combine(lab.StateRoot, "operator-cert");
        var issued = await lab.ExecAsync("m1", "protoswarm", "ca", "issue-client", "--out", operatorDir);
        Assert.True(issued.ExitCode == 0, issued.ToString());
        var asOperator = await lab.ExecAsync("w1", "env", $"PROTOSWARM_CERT_PATH={operatorDir}", "protoswarm", "--host", manager, "node", "ls");
        Assert.True(asOperator.ExitCode == 0, asOperator.ToString());
        Assert.Contains("Leader", asOperator.StdOut, StringComparison.Ordinal);
        var role = await lab.ExecAsync("m1", "protoswarm", "node", "inspect", "w1", "--format", "{{.Spec.Role}}");
        Assert.Equal("worker", role.StdOut.Trim());
    }

    [Fact]
    public async Task An_Autolocked_Manager_Restarts_Locked_And_Only_The_Right_Key_Unlocks_It()
    {
        await using var lab = await LabFixture.UpAsync(managers: 1, workers: 0);
        var update = await lab.ExecAsync("m1", "protoswarm", "swarm", "update", "--autolock=true");
        Assert.True(update.ExitCode == 0, update.ToString());
        Assert.Contains("SWMKEY-1-", update.StdOut, StringComparison.Ordinal);
        var key = (await lab.ExecAsync("m1", "protoswarm", "swarm", "unlock-key", "-q")).StdOut.Trim();
        var label = await lab.ExecAsync("m1", "protoswarm", "node", "update", "--label-add", "kept=yes", "m1");
        Assert.True(label.ExitCode == 0, label.ToString());

        await RestartAsync(lab, "m1");

        var info = await lab.ExecAsync("m1", "protoswarm", "info");
        Assert.Contains("Swarm: locked", info.StdOut, StringComparison.Ordinal);
        var refused = await lab.ExecAsync("m1", "protoswarm", "node", "ls");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("locked", refused.StdErr, StringComparison.Ordinal);

        var wrongKey = "SWMKEY-1-" + Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)).TrimEnd('=');
        var wrong = await lab.ExecAsync("m1", "sh", "-c", $"echo '{wrongKey}' | protoswarm swarm unlock");
        Assert.Equal(1, wrong.ExitCode);
        Assert.Contains("does not open", wrong.StdErr, StringComparison.Ordinal);
        Assert.Contains("Swarm: locked", (await lab.ExecAsync("m1", "protoswarm", "info")).StdOut, StringComparison.Ordinal);

        var right = await lab.ExecAsync("m1", "sh", "-c", $"echo '{key}' | protoswarm swarm unlock");
        Assert.True(right.ExitCode == 0, right.ToString());
        var kept = await lab.ExecAsync("m1", "protoswarm", "node", "inspect", "m1", "--format", "{{json .Spec.Labels}}");
        Assert.True(kept.ExitCode == 0, kept.ToString());
        Assert.Contains("\"kept\":\"yes\"", kept.StdOut, StringComparison.Ordinal);

        // Autolock off: the next restart needs no key.
        var off = await lab.ExecAsync("m1", "protoswarm", "swarm", "update", "--autolock=false");
        Assert.True(off.ExitCode == 0, off.ToString());
        await RestartAsync(lab, "m1");
        Assert.Contains("Swarm: active", (await lab.ExecAsync("m1", "protoswarm", "info")).StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rotating_The_Root_Ca_Moves_Every_Node_To_The_New_Root_Without_Stopping_And_Retires_The_Old_Tokens()
    {
        await using var lab = await LabFixture.UpAsync(managers: 1, workers: 2);
        var oldToken = (await lab.ExecAsync("m1", "protoswarm", "swarm", "join-token", "-q", "worker")).StdOut.Trim();
        var oldRoot = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(StateDir(lab, "m1"), "certificates", "swarm-root-ca.crt"));

        var rotate = await lab.ExecAsync("m1", "protoswarm", "swarm", "ca", "--rotate");
        Assert.True(rotate.ExitCode == 0, rotate.ToString());

        var newRoot = X509Certificate2.CreateFromPem(rotate.StdOut);
        Assert.NotEqual(oldRoot.Thumbprint, newRoot.Thumbprint);
        var onlyNew = new SwarmCertificateValidator([newRoot], (await ClusterIdAsync(lab)));
        foreach (var node in new[] { "m1", "w1", "w2" })
        {
            var dir = Path.Combine(StateDir(lab, node), "certificates");
            using var certificate = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(dir, "swarm-node.crt"));
            var verdict = onlyNew.Validate(certificate, PeerUsage.Client);
            Assert.True(verdict.IsAccepted, $"{node}: {verdict}");
            Assert.Equal(newRoot.Thumbprint, X509CertificateLoader.LoadCertificateFromFile(Path.Combine(dir, "swarm-root-ca.crt")).Thumbprint);
        }

        // As docker's, it returned on the final state: every node renewed and trusting the new root alone.
        Assert.EndsWith(" 3/3 nodes\n", rotate.StdErr, StringComparison.Ordinal);
        Assert.Contains("  rotated CA certificates:   [==================================================>] 3/3 nodes", rotate.StdErr, StringComparison.Ordinal);
        var ls = await lab.ExecAsync("m1", "protoswarm", "node", "ls", "--format", "{{.Hostname}} {{.Status}} {{.TLSStatus}}");
        Assert.Equal(["m1 Ready Ready", "w1 Ready Ready", "w2 Ready Ready"], ls.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order());

        // The tokens pin the root, so they changed: the old one admits nobody, the new one does.
        var newToken = (await lab.ExecAsync("m1", "protoswarm", "swarm", "join-token", "-q", "worker")).StdOut.Trim();
        Assert.NotEqual(oldToken, newToken);
        Assert.True(JoinToken.Parse(newToken).Matches(newRoot));
        var leave = await lab.ExecAsync("w2", "protoswarm", "swarm", "leave");
        Assert.True(leave.ExitCode == 0, leave.ToString());
        var manager = $"{(await lab.NodeAsync("m1")).GetProperty("Address").GetString()}:2377";
        var withOld = await lab.ExecAsync("w2", "protoswarm", "swarm", "join", "--token", oldToken, manager);
        Assert.Equal(1, withOld.ExitCode);
        var withNew = await lab.ExecAsync("w2", "protoswarm", "swarm", "join", "--token", newToken, manager);
        Assert.True(withNew.ExitCode == 0, withNew.ToString());
    }

    [Fact]
    public async Task A_Swarm_Rotated_To_A_Root_Only_Cfssl_Holds_Renews_Every_Node_And_Admits_A_Worker_Through_Cfssl()
    {
        await using var lab = await LabFixture.UpAsync(managers: 1, workers: 1);
        // The root's key exists only in cfssl's files, served over HTTPS from m1's network namespace.
        var dir = Directory.CreateDirectory(Path.Combine(lab.StateRoot, "cfssl")).FullName;
        var root = RootCa.Create(DateTimeOffset.UtcNow);
        var tlsKey = NodeKey.Generate();
        var tls = root.Issue(tlsKey.CreateCsr(), "cfssl", ProtoSwarm.Contracts.NodeRole.Worker, "tls", [System.Net.IPAddress.Loopback], DateTimeOffset.UtcNow);
        await File.WriteAllTextAsync(Path.Combine(dir, "ca.pem"), root.CertificatePem);
        await File.WriteAllTextAsync(Path.Combine(dir, "ca-key.pem"), root.ExportPrivateKeyPem());
        await File.WriteAllTextAsync(Path.Combine(dir, "tls.pem"), Pem.Write(tls));
        await File.WriteAllTextAsync(Path.Combine(dir, "tls-key.pem"), tlsKey.ExportPrivateKeyPem());
        await File.WriteAllTextAsync(Path.Combine(dir, "cfg.json"), """{"signing":{"default":{"expiry":"2160h","usages":["signing","key encipherment","server auth","client auth"]}}}""");
        var serve = await lab.ExecAsync("m1", "sh", "-c",
            $"cd {dir} && (cfssl serve -address 127.0.0.1 -port 8888 -ca ca.pem -ca-key ca-key.pem -config cfg.json -tls-cert tls.pem -tls-key tls-key.pem > cfssl.log 2>&1 & echo $! > cfssl.pid)");
        Assert.True(serve.ExitCode == 0, serve.ToString());
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            var rotate = await lab.ExecAsync("m1", "protoswarm", "swarm", "ca", "--rotate", "--ca-cert", Path.Combine(dir, "ca.pem"),
                "--external-ca", "protocol=cfssl,url=https://127.0.0.1:8888", "--cert-expiry", "720h");
            Assert.True(rotate.ExitCode == 0, rotate + "\ncfssl: " + await File.ReadAllTextAsync(Path.Combine(dir, "cfssl.log")));
            Assert.Equal(root.CertificatePem.Trim(), rotate.StdOut.Trim());

            var clusterId = await ClusterIdAsync(lab);
            var onlyExternal = new SwarmCertificateValidator([root.ToX509Certificate2()], clusterId);
            foreach (var node in new[] { "m1", "w1" })
            {
                using var certificate = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(StateDir(lab, node), "certificates", "swarm-node.crt"));
                var verdict = onlyExternal.Validate(certificate, PeerUsage.Client);
                Assert.True(verdict.IsAccepted, $"{node}: {verdict}");
            }

            var info = await lab.ExecAsync("m1", "protoswarm", "info");
            Assert.Contains("   Expiry Duration: 4 weeks\n   External CAs:\n     cfssl: https://127.0.0.1:8888\n", info.StdOut, StringComparison.Ordinal);

            // A worker joins the swarm whose root key is only in cfssl: its certificate comes from cfssl.
            var token = (await lab.ExecAsync("m1", "protoswarm", "swarm", "join-token", "-q", "worker")).StdOut.Trim();
            Assert.True(JoinToken.Parse(token).Matches(root.ToX509Certificate2()));
            var leave = await lab.ExecAsync("w1", "protoswarm", "swarm", "leave");
            Assert.True(leave.ExitCode == 0, leave.ToString());
            var manager = $"{(await lab.NodeAsync("m1")).GetProperty("Address").GetString()}:2377";
            var join = await lab.ExecAsync("w1", "protoswarm", "swarm", "join", "--token", token, manager);
            Assert.True(join.ExitCode == 0, join.ToString());
            using var joined = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(StateDir(lab, "w1"), "certificates", "swarm-node.crt"));
            Assert.True(onlyExternal.Validate(joined, PeerUsage.Client).IsAccepted);
            Assert.True(await LabQueries.PollNodesReadyAsync(lab, 2, TimeSpan.FromSeconds(30)), "w1 is not Ready after joining");
            Assert.Contains("signed by the swarm's external CA", await File.ReadAllTextAsync(Path.Combine(StateDir(lab, "m1"), "protoswarmd.log")), StringComparison.Ordinal);
        }
        finally
        {
            if (int.TryParse((await File.ReadAllTextAsync(Path.Combine(dir, "cfssl.pid"))).Trim(), out var pid) && LabFixture.IsAlive(pid))
            {
                System.Diagnostics.Process.GetProcessById(pid).Kill();
            }
        }
    }

    [Fact]
    public async Task A_Worker_Down_When_A_Rotation_Starts_Rejoins_By_Itself_And_The_Rotation_Then_Completes()
    {
        await using var lab = await LabFixture.UpAsync(managers: 1, workers: 1);
        var stop = await lab.LabAsync("stop", "w1");
        Assert.True(stop.ExitCode == 0, stop.ToString());
        Assert.True(await LabQueries.PollNodesDownAsync(lab, "w1", TimeSpan.FromSeconds(30)), "w1 was not Down within 30 s");
        var rotate = await lab.ExecAsync("m1", "protoswarm", "swarm", "ca", "--rotate", "-d");
        Assert.True(rotate.ExitCode == 0, rotate.ToString());
        var newRoot = X509Certificate2.CreateFromPem(rotate.StdOut);

        // w1 trusts only the old root; the managers' certificates come from the new one.
        await lab.StartNodeAsync("w1");

        var info = await LabQueries.RepeatUntilAsync(() => lab.ExecAsync("m1", "protoswarm", "info"), r => r.StdOut.Contains("Root Rotation In Progress: false", StringComparison.Ordinal),
            TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(500));

        Assert.True(info.StdOut.Contains("Root Rotation In Progress: false", StringComparison.Ordinal), $"the rotation did not complete within 60 s: {info}");
        using var certificate = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(StateDir(lab, "w1"), "certificates", "swarm-node.crt"));
        var verdict = new SwarmCertificateValidator([newRoot], await ClusterIdAsync(lab)).Validate(certificate, PeerUsage.Client);
        Assert.True(verdict.IsAccepted, $"w1: {verdict}");
        Assert.True(await LabQueries.PollNodesReadyAsync(lab, 2, TimeSpan.FromSeconds(30)), "w1 is not Ready");
        // It stays so: before, it went Down and back every few seconds.
        var flapped = await LabQueries.PollNodesAsync(lab, TimeSpan.FromSeconds(10), nodes => nodes.Any(n => n.Status.State != ProtoSwarm.Contracts.NodeState.Ready));
        Assert.False(flapped, "a node left Ready after the rotation");
    }

    [Fact]
    public async Task Rotating_Again_Before_A_Rotation_Converges_Moves_Every_Node_To_The_Newest_Root_And_Keeps_Them_Talking()
    {
        await using var lab = await LabFixture.UpAsync(managers: 1, workers: 2);
        var clusterId = await ClusterIdAsync(lab);
        // w2 down keeps the first rotation pending: it cannot renew until it is back.
        var stop = await lab.LabAsync("stop", "w2");
        Assert.True(stop.ExitCode == 0, stop.ToString());
        Assert.True(await LabQueries.PollNodesDownAsync(lab, "w2", TimeSpan.FromSeconds(30)), "w2 was not Down within 30 s");
        var first = await lab.ExecAsync("m1", "protoswarm", "swarm", "ca", "--rotate", "-d");
        Assert.True(first.ExitCode == 0, first.ToString());
        var abandoned = X509Certificate2.CreateFromPem(first.StdOut);

        // The running nodes renew to the first new root, which the second rotation abandons.
        var onFirst = new SwarmCertificateValidator([abandoned], clusterId);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!new[] { "m1", "w1" }.All(n => IsFrom(onFirst, lab, n)) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.True(new[] { "m1", "w1" }.All(n => IsFrom(onFirst, lab, n)), "m1 and w1 did not renew to the first new root within 30 s");
        Assert.Contains("Root Rotation In Progress: true", (await lab.ExecAsync("m1", "protoswarm", "info")).StdOut, StringComparison.Ordinal);

        // Refused before: now it replaces the pending rotation, and waits (drawing its bars) for w2, which comes back
        // trusting only the original root.
        var secondRun = lab.ExecAsync("m1", "protoswarm", "swarm", "ca", "--rotate");
        await Task.Delay(TimeSpan.FromSeconds(2));
        await lab.StartNodeAsync("w2");
        var second = await secondRun;
        Assert.True(second.ExitCode == 0, second.ToString());

        var newest = X509Certificate2.CreateFromPem(second.StdOut);
        Assert.NotEqual(abandoned.Thumbprint, newest.Thumbprint);
        var onNewest = new SwarmCertificateValidator([newest], clusterId);
        foreach (var node in new[] { "m1", "w1", "w2" })
        {
            Assert.True(IsFrom(onNewest, lab, node), $"{node}'s certificate is not from the newest root");
            using var root = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(StateDir(lab, node), "certificates", "swarm-root-ca.crt"));
            Assert.Equal(newest.Thumbprint, root.Thumbprint);
        }

        Assert.EndsWith("  rotated CA certificates:   [==================================================>] 3/3 nodes\n", second.StdErr, StringComparison.Ordinal);
        Assert.Contains("Root Rotation In Progress: false", (await lab.ExecAsync("m1", "protoswarm", "info")).StdOut, StringComparison.Ordinal);
        Assert.True(await LabQueries.PollNodesReadyAsync(lab, 3, TimeSpan.FromSeconds(30)), "not every node is Ready");
        var ls = await lab.ExecAsync("m1", "protoswarm", "node", "ls", "--format", "{{.Hostname}} {{.Status}} {{.TLSStatus}}");
        Assert.Equal(["m1 Ready Ready", "w1 Ready Ready", "w2 Ready Ready"], ls.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order());
        var flapped = await LabQueries.PollNodesAsync(lab, TimeSpan.FromSeconds(5), nodes => nodes.Any(n => n.Status.State != ProtoSwarm.Contracts.NodeState.Ready));
        Assert.False(flapped, "a node left Ready after the rotations");
    }

    /// <summary>Whether the node's certificate on disk chains to the validator's root (false while it is being rewritten).</summary>
    private static bool IsFrom(SwarmCertificateValidator validator, LabFixture lab, string node)
    {
        try
        {
            using var certificate = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(StateDir(lab, node), "certificates", "swarm-node.crt"));
            return validator.Validate(certificate, PeerUsage.Client).IsAccepted;
        }
        catch (Exception e) when (e is IOException or System.Security.Cryptography.CryptographicException)
        {
            return false;
        }
    }

    private static async Task<string> ClusterIdAsync(LabFixture lab)
    {
        var info = await lab.ExecAsync("m1", "protoswarm", "info", "--format", "{{.Swarm.Cluster.ID}}");
        Assert.True(info.ExitCode == 0, info.ToString());
        return info.StdOut.Trim();
    }

    private static async Task RestartAsync(LabFixture lab, string node)
    {
        var stop = await lab.LabAsync("stop", node);
        Assert.True(stop.ExitCode == 0, stop.ToString());
        await lab.StartNodeAsync(node);
    }

    /// <summary>Node id to hostname, from `node ls` on the manager.</summary>
    private static async Task<Dictionary<string, string>> NodeIdsAsync(LabFixture lab)
    {
        var ls = await lab.ExecAsync("m1", "protoswarm", "node", "ls", "--format", "json");
        Assert.True(ls.ExitCode == 0, ls.ToString());
        return LabFixture.JsonLines(ls.StdOut).ToDictionary(n => n.GetProperty("ID").GetString()!, n => n.GetProperty("Hostname").GetString()!);
    }

    private static string StateDir(LabFixture lab, string node) => Path.Combine(lab.StateRoot, node);
}
