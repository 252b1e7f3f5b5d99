using System.CommandLine;
using ProtoSwarm.Cli.Lab;

var root = new RootCommand("protoswarm: a container orchestrator in the spirit of Docker Swarm mode");
root.Subcommands.Add(LabCommands.Create());
return await root.Parse(args).InvokeAsync();
