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
// Ctrl-C (SIGINT) and SIGTERM cancel the running command's token, so it ends as it means to (events and subscriptions let
// go, a progress watch says the operation goes on, 130); System.CommandLine 2.0.0 leaves this off (null), and the signal
// then killed the CLI outright. A command that has not ended 3 s after the signal is ended then.
return await CliApp.RunAsync(root, args, new InvocationConfiguration
{
    EnableDefaultExceptionHandler = false,
    ProcessTerminationTimeout = TimeSpan.FromSeconds(3),
});
