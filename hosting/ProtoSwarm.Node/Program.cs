using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ProtoSwarm.Hosting;
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

var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], DisableDefaults = false });
builder.Logging.ClearProviders();
builder.Logging.AddSimpleConsole(o =>
{
    o.SingleLine = true;
    o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fff ";
    o.UseUtcTimestamp = true;
});
builder.Logging.SetMinimumLevel(Enum.Parse<LogLevel>(parsed.LogLevel, ignoreCase: true));
builder.Logging.AddFilter("Proto.", LogLevel.Warning);
builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
builder.Logging.AddFilter("Grpc", LogLevel.Warning);
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
