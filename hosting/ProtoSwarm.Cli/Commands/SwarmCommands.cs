using System.CommandLine;
using ProtoSwarm.Cli.Output;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Commands;

/// <summary>`protoswarm swarm init|join|leave|join-token`, with docker's flags and words.</summary>
internal static class SwarmCommands
{
    public static Command Create(CliApp app) =>
        new Command("swarm", "Manage the swarm").With(Init(app), Join(app), Leave(app), JoinToken(app), Update(app), UnlockKey(app), Unlock(app), Ca(app));

    private static Command Init(CliApp app)
    {
        var advertiseAddr = AdvertiseAddrOption();
        var forceNewCluster = new Option<bool>("--force-new-cluster")
        {
            Description = "Force create a new cluster from current state",
        };
        var snapshotInterval = new Option<ulong?>("--snapshot-interval")
        {
            Description = "Number of log entries between Raft snapshots (default 10000)",
        }.CheckedBy(v => ulong.TryParse(v, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n > 0
            ? null
            : $"--snapshot-interval {v}: give a whole number of log entries, at least 1 (the default is 10000).");
        var autoLock = new Option<bool>("--autolock")
        {
            Description = "Enable manager autolocking (requiring an unlock key to start a stopped manager)",
        };
        var historyLimit = TaskHistoryLimitOption();
        var externalCa = ExternalCaOption();
        var command = new Command("init", "Initialize a swarm").With(advertiseAddr, forceNewCluster, snapshotInterval, autoLock, historyLimit, externalCa);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var ack = await cli.RequestAsync<InitSwarmAck>(
                new InitSwarm(SwarmIds.NewRequestId(), parse.GetValue(advertiseAddr), parse.GetValue(forceNewCluster), parse.GetValue(snapshotInterval) ?? 0, parse.GetValue(autoLock),
                    TaskHistoryLimitOf(parse.GetValue(historyLimit))) { ExternalCas = ExternalCasOf(parse.GetValue(externalCa)) },
                Timeouts.Membership,
                ct);
            await cli.Out.WriteAsync(SwarmView.Initialized(ack));
            if (ack.UnlockKey.Length > 0)
            {
                await cli.Out.WriteAsync(SwarmView.UnlockKeyNotice(ack.UnlockKey));
            }
            return 0;
        });
        return command;
    }

    private static Command Join(CliApp app)
    {
        var token = new Option<string>("--token")
        {
            Description = "Token for entry into the swarm",
            Required = true,
        }.CheckedBy(v => ArgumentRules.JoinToken(v).Error);
        var advertiseAddr = AdvertiseAddrOption();
        var remote = new Argument<string>("HOST:PORT") { Description = "A manager's address (port 2377 when omitted)" }
            .CheckedBy(v => ArgumentRules.RemoteAddr(v).Error);
        var command = new Command("join", "Join a swarm as a node and/or manager").With(token, advertiseAddr, remote);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var ack = await cli.RequestAsync<JoinSwarmAck>(
                new JoinSwarm(
                    SwarmIds.NewRequestId(),
                    parse.GetRequiredValue(token),
                    ArgumentRules.RemoteAddr(parse.GetRequiredValue(remote)).Value,
                    parse.GetValue(advertiseAddr)),
                Timeouts.Membership,
                ct);
            await cli.Out.WriteAsync(SwarmView.Joined(ack));
            return 0;
        });
        return command;
    }

    private static Command Leave(CliApp app)
    {
        var force = new Option<bool>("--force", "-f")
        {
            Description = "Force this node to leave the swarm, ignoring warnings",
        };
        var command = new Command("leave", "Leave the swarm").With(force);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            await cli.RequestAsync<LeaveSwarmAck>(new LeaveSwarm(SwarmIds.NewRequestId(), parse.GetValue(force)), Timeouts.Membership, ct);
            await cli.Out.WriteAsync(SwarmView.Left());
            return 0;
        });
        return command;
    }

    private static Command JoinToken(CliApp app)
    {
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Only display token" };
        var rotate = new Option<bool>("--rotate") { Description = "Rotate join token" };
        var role = new Argument<string>("(worker|manager)") { Description = "The role the token admits" }
            .CheckedBy(v => ArgumentRules.Role(v).Error);
        var command = new Command("join-token", "Manage join tokens").With(quiet, rotate, role);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var roleValue = ArgumentRules.Role(parse.GetRequiredValue(role)).Value;
            var rotating = parse.GetValue(rotate);
            var info = await cli.RequestAsync<JoinTokenInfo>(
                new GetJoinToken(SwarmIds.NewRequestId(), roleValue, rotating),
                rotating ? Timeouts.Change : Timeouts.Query,
                ct);
            if (parse.GetValue(quiet))
            {
                await cli.Out.WriteAsync(info.Token + "\n");
            }
            else
            {
                await cli.Out.WriteAsync((rotating ? $"Successfully rotated {SwarmView.RoleName(roleValue)} join token.\n\n" : string.Empty) + SwarmView.JoinCommand(info));
            }

            return 0;
        });
        return command;
    }

    private static Command Update(CliApp app)
    {
        var certExpiry = new Option<string?>("--cert-expiry")
        {
            Description = "Validity period for node certificates (ns|us|ms|s|m|h) (default 2160h0m0s)",
        }.CheckedBy(v => ArgumentRules.Duration("--cert-expiry", v).Error);
        var autoLock = new Option<bool?>("--autolock")
        {
            Description = "Change manager autolocking setting (true|false)",
        };
        var heartbeat = new Option<string?>("--dispatcher-heartbeat")
        {
            Description = "Dispatcher heartbeat period (ns|us|ms|s|m|h) (default 500ms; a node is down after four missed beats)",
        }.CheckedBy(v => ArgumentRules.Duration("--dispatcher-heartbeat", v).Error);
        var historyLimit = TaskHistoryLimitOption();
        var externalCa = ExternalCaOption();
        var command = new Command("update", "Update the swarm").With(certExpiry, autoLock, heartbeat, historyLimit, externalCa);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var expiry = parse.GetValue(certExpiry);
            var locking = parse.GetValue(autoLock);
            var period = parse.GetValue(heartbeat);
            var history = TaskHistoryLimitOf(parse.GetValue(historyLimit));
            var externalCas = ExternalCasOf(parse.GetValue(externalCa));
            if (expiry is null && locking is null && period is null && history is null && externalCas.IsEmpty)
            {
                throw new Client.SwarmCommandException(RejectCode.InvalidArgument,
                    "Nothing to update; give a setting, e.g. --cert-expiry 720h, --dispatcher-heartbeat 5s, --task-history-limit 5, --autolock=true or --external-ca protocol=cfssl,url=https://HOST:PORT.");
            }

            long? seconds = expiry is null ? null : (long)ArgumentRules.Duration("--cert-expiry", expiry).Value.TotalSeconds;
            long? heartbeatMs = period is null ? null : (long)ArgumentRules.Duration("--dispatcher-heartbeat", period).Value.TotalMilliseconds;
            var updated = await cli.RequestAsync<SwarmUpdated>(new UpdateSwarm(SwarmIds.NewRequestId(), seconds, locking, heartbeatMs, history) { ExternalCas = externalCas }, Timeouts.Change, ct);
            await cli.Out.WriteAsync("Swarm updated.\n");
            if (updated.NewUnlockKey.Length > 0)
            {
                await cli.Out.WriteAsync(SwarmView.UnlockKeyNotice(updated.NewUnlockKey));
            }

            return 0;
        });
        return command;
    }

    private static Command Ca(CliApp app)
    {
        var rotate = new Option<bool>("--rotate") { Description = "Rotate the swarm CA - if no certificate or key are provided, new ones will be generated" };
        var caCert = new Option<string?>("--ca-cert") { Description = "Path to the PEM-formatted root CA certificate to use for the new cluster", HelpName = "pem-file" };
        var caKey = new Option<string?>("--ca-key") { Description = "Path to the PEM-formatted root CA key to use for the new cluster", HelpName = "pem-file" };
        var detach = new Option<bool>("--detach", "-d") { Description = "Exit immediately instead of waiting for the root rotation to converge" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Suppress progress output" };
        var certExpiry = new Option<string?>("--cert-expiry")
        {
            Description = "Validity period for node certificates (ns|us|ms|s|m|h) (default 2160h0m0s)",
        }.CheckedBy(v => ArgumentRules.Duration("--cert-expiry", v).Error);
        var externalCa = ExternalCaOption();
        var command = new Command("ca", "Display and rotate the root CA").With(caCert, caKey, certExpiry, detach, externalCa, quiet, rotate);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var rotating = parse.GetValue(rotate);
            var (certPath, keyPath) = (parse.GetValue(caCert), parse.GetValue(caKey));
            var expiry = parse.GetValue(certExpiry);
            var externalCas = ExternalCasOf(parse.GetValue(externalCa));
            if (!rotating)
            {
                // As docker's: every flag that changes the CA needs --rotate; without it the root is shown.
                var given = certPath is not null ? "ca-cert" : keyPath is not null ? "ca-key" : expiry is not null ? "cert-expiry" : !externalCas.IsEmpty ? "external-ca" : null;
                if (given is not null)
                {
                    throw new Client.SwarmCommandException(RejectCode.InvalidArgument, $"`--{given}` flag requires the `--rotate` flag to update the CA");
                }
            }

            if (!externalCas.IsEmpty && certPath is null)
            {
                throw new Client.SwarmCommandException(RejectCode.InvalidArgument,
                    "rotating to an external CA requires the `--ca-cert` flag to specify the external CA's cert - to add an external CA with the current root CA certificate, use the `update` command instead");
            }

            if (certPath is not null && keyPath is null && externalCas.IsEmpty)
            {
                throw new Client.SwarmCommandException(RejectCode.InvalidArgument,
                    "the --ca-cert flag requires that a --ca-key flag and/or --external-ca flag be provided as well");
            }

            if (keyPath is not null && certPath is null)
            {
                throw new Client.SwarmCommandException(RejectCode.InvalidArgument, "the --ca-key flag requires the --ca-cert flag: give the root CA certificate the key belongs to");
            }

            var rootPem = certPath is null ? string.Empty : await ReadPemFileAsync("--ca-cert", certPath, ct);
            var request = new RotateCa(SwarmIds.NewRequestId(), rotating,
                rootPem,
                keyPath is null ? string.Empty : await ReadPemFileAsync("--ca-key", keyPath, ct))
            {
                CertExpirySeconds = expiry is null ? null : (long)ArgumentRules.Duration("--cert-expiry", expiry).Value.TotalSeconds,
                // As docker's: the external CAs given sign with the root given.
                ExternalCas = [.. externalCas.Select(ca => ca with { CaCertPem = rootPem })],
            };
            var status = await cli.RequestAsync<CaStatus>(request, rotating ? Timeouts.Change : Timeouts.Query, ct);
            if (rotating && !parse.GetValue(detach))
            {
                var until = DateTime.UtcNow + Timeouts.Membership;
                // Redrawn in place on a terminal; elsewhere (a log, a pipe) a line only when the count changes.
                var progress = parse.GetValue(quiet) ? null : new ProgressPrinter(cli.Error, cli.ErrorIsTerminal);
                // As docker's: the state is drawn after every look, so the last lines drawn are the final state ("3/3 nodes").
                progress?.Write(CaProgressView.Lines(status));
                while (!CaProgressView.Done(status) && DateTime.UtcNow < until)
                {
                    await Task.Delay(app.CaRotationPollInterval, ct);
                    status = await cli.RequestAsync<CaStatus>(new RotateCa(SwarmIds.NewRequestId(), Rotate: false), Timeouts.Query, ct);
                    progress?.Write(CaProgressView.Lines(status));
                }

                if (status.RotationInProgress)
                {
                    throw new Client.SwarmCommandException(RejectCode.Unavailable,
                        $"The rotation goes on in the background: {status.NodesRenewed} of {status.Nodes} nodes hold a certificate from the new root. Nodes that are down renew when they return; remove the ones gone for good (`node rm`). Check with `protoswarm swarm ca` and `protoswarm node ls --format '{{{{.Hostname}}}} {{{{.TLSStatus}}}}'`.");
                }

                if (!CaProgressView.Done(status))
                {
                    throw new Client.SwarmCommandException(RejectCode.Unavailable,
                        $"The rotation has ended, but {status.Nodes - status.NodesTrustingRoot} of {status.Nodes} nodes have not reported trusting the new root alone (a node does at its next heartbeat; a node of an earlier version never does). Check with `protoswarm node ls --format '{{{{.Hostname}}}} {{{{.TLSStatus}}}}'`.");
                }
            }

            await cli.Out.WriteAsync(status.RootCaPem);
            return 0;
        });
        return command;
    }

    /// <summary>A --ca-cert or --ca-key file's text; the managers judge what is in it.</summary>
    private static async Task<string> ReadPemFileAsync(string flag, string path, CancellationToken ct)
    {
        try
        {
            return await File.ReadAllTextAsync(path, ct);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new Client.SwarmCommandException(RejectCode.InvalidArgument,
                $"{flag} {path}: {(e is FileNotFoundException or DirectoryNotFoundException ? "no such file" : e.Message)}; give the path of a PEM file");
        }
    }

    private static Command UnlockKey(CliApp app)
    {
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Only display token" };
        var rotate = new Option<bool>("--rotate") { Description = "Rotate unlock key" };
        var command = new Command("unlock-key", "Manage the unlock key").With(quiet, rotate);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var rotating = parse.GetValue(rotate);
            var info = await cli.RequestAsync<UnlockKeyInfo>(new GetUnlockKey(SwarmIds.NewRequestId(), rotating), rotating ? Timeouts.Change : Timeouts.Query, ct);
            if (parse.GetValue(quiet))
            {
                await cli.Out.WriteAsync(info.UnlockKey + "\n");
            }
            else
            {
                await cli.Out.WriteAsync((rotating ? "Successfully rotated manager unlock key.\n\n" : string.Empty) + SwarmView.UnlockKeyNotice(info.UnlockKey));
            }

            return 0;
        });
        return command;
    }

    private static Command Unlock(CliApp app)
    {
        var command = new Command("unlock", "Unlock swarm (reads the unlock key from standard input)");
        app.SetAction(command, async (parse, cli, ct) =>
        {
            if (!Console.IsInputRedirected)
            {
                await cli.Out.WriteAsync("Enter unlock key: ");
            }

            var key = await Console.In.ReadLineAsync(ct) ?? string.Empty;
            await cli.RequestAsync<UnlockSwarmAck>(new UnlockSwarm(SwarmIds.NewRequestId(), key.Trim()), Timeouts.Membership, ct);
            return 0;
        });
        return command;
    }

    /// <summary>`--external-ca` of `swarm init`, `swarm update` and `swarm ca`, as docker's: repeatable, one CA each.</summary>
    private static Option<string[]> ExternalCaOption() =>
        new Option<string[]>("--external-ca")
        {
            Description = "Specifications of one or more certificate signing endpoints (protocol=cfssl,url=https://HOST:PORT[,cacert=FILE])",
            HelpName = "external-ca",
            AllowMultipleArgumentsPerToken = false,
        }.CheckedBy(v => ArgumentRules.ExternalCa(v).Error);

    private static System.Collections.Immutable.ImmutableArray<ExternalCa> ExternalCasOf(string[]? values) =>
        values is null ? [] : [.. values.Select(v => ArgumentRules.ExternalCa(v).Value)];

    /// <summary>`--task-history-limit N` of `swarm init` and `swarm update`, as docker's.</summary>
    private static Option<string?> TaskHistoryLimitOption() =>
        new Option<string?>("--task-history-limit")
        {
            Description = "Task history retention limit (default 5)",
        }.CheckedBy(v => ArgumentRules.TaskHistoryLimit(v).Error);

    private static long? TaskHistoryLimitOf(string? value) => value is null ? null : ArgumentRules.TaskHistoryLimit(value).Value;

    private static Option<string?> AdvertiseAddrOption() =>
        new Option<string?>("--advertise-addr")
        {
            Description = "Advertised address (format: <ip|interface>[:port])",
        }.CheckedBy(v => ArgumentRules.AdvertiseAddr(v).Error);
}
