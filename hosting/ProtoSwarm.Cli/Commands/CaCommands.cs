using System.CommandLine;
using ProtoSwarm.Client;
using ProtoSwarm.Contracts;
using ProtoSwarm.Pki;

namespace ProtoSwarm.Cli.Commands;

/// <summary>`protoswarm ca issue-client`: a client certificate for the managers' API (the .NET client library, `--host tcp://`).</summary>
internal static class CaCommands
{
    public static Command Create(CliApp app) =>
        new Command("ca", "Manage the swarm's certificate authority").With(IssueClient(app));

    private static Command IssueClient(CliApp app)
    {
        var output = new Option<string?>("--out", "-o")
        {
            Description = "Directory for ca.pem, cert.pem and key.pem (default: $PROTOSWARM_CERT_PATH, else ~/.protoswarm)",
        };
        var name = new Option<string>("--name")
        {
            Description = "Who the certificate is for, for the managers' log",
            DefaultValueFactory = _ => Environment.UserName,
        };
        var command = new Command("issue-client", "Issue a client certificate for the managers' API; the key is made here and never sent").With(output, name);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var dir = parse.GetValue(output) ?? Control.RemoteManagerConnection.DefaultCertificateDir();
            var key = NodeKey.Generate();
            var issued = await cli.RequestAsync<CertificateIssued>(
                new IssueClientCertificate(SwarmIds.NewRequestId(), key.CreateCsr("swarm-client").ToPem(), parse.GetValue(name) ?? string.Empty),
                Timeouts.Change,
                ct);
            ClientCertificates.Save(dir, issued, key.ExportPrivateKeyPem());
            await cli.Out.WriteAsync(
                $"Client certificate {issued.SubjectId} written to {dir} ({ClientCertificates.CaFile}, {ClientCertificates.CertificateFile}, {ClientCertificates.KeyFile}).\n" +
                $"Use it with: PROTOSWARM_CERT_PATH={dir} protoswarm --host tcp://MANAGER:2377 node ls\n");
            return 0;
        });
        return command;
    }
}
