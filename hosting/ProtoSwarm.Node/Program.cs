using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using ProtoSwarm.Hosting;
using ProtoSwarm.Hosting.Logging;
using ProtoSwarm.Hosting.Options;

var parsed = NodeOptionsParser.Parse(args);
if (parsed.Help)
{
    Console.WriteLine(NodeOptionsParser.Usage);
    return 0;
}

var errors = parsed.Errors.Count > 0 ? parsed.Errors : NodeOptionsParser.CheckEnvironment(parsed.Options);
if (errors.Count > 0)
{
    foreach (var error in errors)
    {
        Console.Error.WriteLine($"protoswarmd: {error}");
    }

    return 2;
}

// Before anything reads or changes the state: one node host per state directory.
StateDirectoryLock stateLock;
try
{
    stateLock = StateDirectoryLock.Acquire(parsed.Options.StateDir);
}
catch (InvalidOperationException e)
{
    Console.Error.WriteLine($"protoswarmd: {e.Message}");
    return 1;
}

using var held = stateLock;

// The node's options come from its own parser, not the host's: its arguments only turn off the watch of appsettings.json
// (a watcher on every directory under the working directory, SwarmRemoteHost.NoSettingsReload).
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = ProtoSwarm.Networking.Security.SwarmRemoteHost.NoSettingsReload, DisableDefaults = false });
builder.Logging.ClearProviders();
builder.Logging.AddSimpleConsole(o =>
{
    o.SingleLine = true;
    o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fff ";
    o.UseUtcTimestamp = true;
});
var logLevel = Enum.Parse<LogLevel>(parsed.LogLevel, ignoreCase: true);
builder.Logging.SetMinimumLevel(logLevel);
// The libraries' own information is chatter; their warnings and errors are written, and those that only
// say a peer stopped, restarted or reset a connection become one line each (NetworkFailureLoggerProvider),
// except at --log-level debug or trace, which write them as the libraries did, stack traces included, and
// their information too (connections made and lost, which a network problem is diagnosed from).
var libraries = logLevel switch
{
    <= LogLevel.Debug => LogLevel.Information,
    > LogLevel.Warning => logLevel,
    _ => LogLevel.Warning,
};
builder.Logging.AddFilter("Proto.", libraries);
builder.Logging.AddFilter("Microsoft", libraries);
builder.Logging.AddFilter("Grpc", libraries);
builder.Logging.Services.Replace(ServiceDescriptor.Singleton<ILoggerProvider>(services => new NetworkFailureLoggerProvider(
    new ConsoleLoggerProvider(services.GetRequiredService<IOptionsMonitor<ConsoleLoggerOptions>>(), services.GetServices<ConsoleFormatter>()),
    logLevel)));
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(15));
builder.AddProtoSwarmNode(parsed.Options);

try
{
    await builder.Build().RunAsync();
    return 0;
}
catch (Exception e) when (e is InvalidOperationException or ProtoSwarm.Persistence.PersistenceException)
{
    Console.Error.WriteLine($"protoswarmd: {e.Message}");
    return 1;
}
