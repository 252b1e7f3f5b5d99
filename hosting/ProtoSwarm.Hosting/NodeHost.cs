using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ProtoSwarm.Hosting.Control;
using ProtoSwarm.Hosting.Options;
using ProtoSwarm.Hosting.Runtime;

namespace ProtoSwarm.Hosting;

/// <summary>Wires a ProtoSwarm node into a generic host: the runtime and its control socket.</summary>
public static class NodeHost
{
    public static IHostApplicationBuilder AddProtoSwarmNode(this IHostApplicationBuilder builder, NodeOptions options)
    {
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(sp => new SwarmRuntime(options, sp.GetRequiredService<ILoggerFactory>(), sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddHostedService<NodeHostedService>();
        return builder;
    }
}

/// <summary>Starts the runtime and the control socket; on SIGTERM stops them in the reverse order.</summary>
internal sealed class NodeHostedService : IHostedService, IAsyncDisposable
{
    private readonly SwarmRuntime _runtime;
    private readonly NodeOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private ControlServer? _control;

    public NodeHostedService(SwarmRuntime runtime, NodeOptions options, ILoggerFactory loggerFactory)
    {
        _runtime = runtime;
        _options = options;
        _loggerFactory = loggerFactory;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        Proto.Log.SetLoggerFactory(_loggerFactory);
        await _runtime.StartAsync();
        _control = new ControlServer(_options.ControlSocket, _runtime.HandleAsync, _loggerFactory.CreateLogger<ControlServer>(), _runtime.StreamAsync);
        _control.Start();
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await DisposeAsync();
        await _runtime.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_control is { } control)
        {
            _control = null;
            await control.DisposeAsync();
        }
    }
}
