using System.CommandLine;
using ProtoSwarm.Cli;
using ProtoSwarm.Cli.Control;
using ProtoSwarm.Cli.Lab;

const string Tcp = "tcp://";
var root = new CliApp(target => target.StartsWith(Tcp, StringComparison.Ordinal)
    ? new RemoteManagerConnection(target[Tcp.Length..], RemoteManagerConnection.DefaultCertificateDir())
    : new ControlSocketConnection(target)).CreateRoot();
root.Subcommands.Add(LabCommands.Create());

// Exceptions reach CliApp.RunAsync, which prints one line instead of System.CommandLine's stack trace.
return await CliApp.RunAsync(root, args, new InvocationConfiguration { EnableDefaultExceptionHandler = false });
