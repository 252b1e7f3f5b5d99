using System.CommandLine;
using ProtoSwarm.Cli;
using ProtoSwarm.Cli.Control;
using ProtoSwarm.Cli.Lab;

var root = new CliApp(socketPath => new ControlSocketConnection(socketPath)).CreateRoot();
root.Subcommands.Add(LabCommands.Create());

// Exceptions reach CliApp.RunAsync, which prints one line instead of System.CommandLine's stack trace.
return await CliApp.RunAsync(root, args, new InvocationConfiguration { EnableDefaultExceptionHandler = false });
