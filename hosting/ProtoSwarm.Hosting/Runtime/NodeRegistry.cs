using Microsoft.Extensions.Logging;
using ProtoSwarm.Containers.Images;
using ProtoSwarm.Contracts;
using ProtoSwarm.Networking.Remote;
using ProtoSwarm.Networking.Security;
using ProtoSwarm.Persistence;
using ProtoSwarm.Registry.Client;

namespace ProtoSwarm.Hosting.Runtime;

/// <summary>
/// The node's side of the swarm's registry: `image push` and `image pull`, and the pull of a task's image
/// the node lacks before the task starts. It speaks to the managers' registry over the swarm's mutual TLS
/// with this node's certificate (workers may pull, managers push), on each manager's listen address, the
/// leader first; a retry goes to the next manager. One puller for the node, so tasks that start together
/// fetch each layer once.
/// </summary>
internal sealed class NodeRegistry : IDisposable
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromMinutes(30);

    private readonly Func<ImageStore> _store;
    private readonly Func<NodeLocalState?> _state;
    private readonly Func<SwarmCredentials?> _credentials;
    private readonly ILoggerFactory _loggerFactory;
    /// <summary>The manager this pull or push speaks to: the leader, until a retry moves it to the next (<see cref="ManagerTurn"/>).</summary>
    private static readonly AsyncLocal<ManagerTurn?> s_turn = new();

    private readonly Lock _gate = new();
    private (SwarmCredentials Credentials, HttpClient Http)? _http;
    private ImagePuller? _puller;
    private ImagePusher? _pusher;

    public NodeRegistry(Func<ImageStore> store, Func<NodeLocalState?> state, Func<SwarmCredentials?> credentials, ILoggerFactory loggerFactory)
    {
        _store = store;
        _state = state;
        _credentials = credentials;
        _loggerFactory = loggerFactory;
    }

    public static bool Handles(object request) => request is PushImage or PullImage;

    public async Task<object> HandleAsync(object request, CancellationToken ct)
    {
        if (_state() is null)
        {
            return new CommandRejected(RejectCode.NotInSwarm,
                "This node is not in a swarm, so it has no registry to push to or pull from; `swarm init` or `swarm join` first, or move images with `image load`.");
        }

        s_turn.Value = new ManagerTurn();
        try
        {
            switch (request)
            {
                case PushImage m:
                {
                    if (!ImageReference.TryParse(m.ImageRef, out var name, out var error))
                    {
                        return new CommandRejected(RejectCode.InvalidArgument, error);
                    }

                    if (!await _store().IsNamedAsync(name, ct))
                    {
                        return new CommandRejected(RejectCode.NotFound, NotALocalName(m.ImageRef));
                    }

                    // The full name, never what was typed: the store resolves it as a name only, so a tag removed
                    // meanwhile fails the push instead of an id-like name finding an image by its id.
                    var pushed = await Pusher().PushAsync(name.FullName, name.Path, name.Tag, null, ct);
                    return pushed.ToWire();
                }

                case PullImage m:
                {
                    if (!ImageReference.TryParse(m.ImageRef, out var name, out var error, allowDigest: true))
                    {
                        return new CommandRejected(RejectCode.InvalidArgument, error);
                    }

                    var pulled = await Puller().PullAsync(name, null, ct);
                    return new ImagePulled(LocalImages.ToWire(pulled.Image), pulled.Digest, pulled.LayersDownloaded, pulled.BytesDownloaded, pulled.Updated);
                }

                default:
                    return new CommandRejected(RejectCode.InvalidArgument, $"{request.GetType().Name} is not a registry command");
            }
        }
        catch (RegistryClientException e)
        {
            return new CommandRejected(e.Reject, e.Message);
        }
        catch (ImageStoreException e)
        {
            return new CommandRejected(e.Code, e.Message);
        }
    }

    /// <summary>docker's sentence for a push of something that is not a name here (an image id is not one), and where the names are.</summary>
    private static string NotALocalName(string imageRef) =>
        $"An image does not exist locally with the tag: {imageRef}; `image push` sends an image by a name it has on this node, never by its id: see the names with `protoswarm image ls`";

    /// <summary>Pulls a task's image from the swarm's registry (by digest when the managers pinned it); throws with the reason when it cannot.</summary>
    public async Task PullForTaskAsync(string reference, CancellationToken ct)
    {
        if (_state() is null)
        {
            throw new InvalidOperationException("this node is not in a swarm, so it has no registry to pull from");
        }

        if (!ImageReference.TryParse(reference, out var name, out var error, allowDigest: true))
        {
            throw new InvalidOperationException(error);
        }

        s_turn.Value = new ManagerTurn();
        await Puller().PullAsync(name, null, ct);
    }

    private ImagePuller Puller()
    {
        lock (_gate)
        {
            return _puller ??= new ImagePuller(_store(), NextClient, logger: _loggerFactory.CreateLogger<ImagePuller>());
        }
    }

    private ImagePusher Pusher()
    {
        lock (_gate)
        {
            return _pusher ??= new ImagePusher(_store(), NextClient, logger: _loggerFactory.CreateLogger<ImagePusher>());
        }
    }

    /// <summary>
    /// A client of one manager's registry for attempt <paramref name="attempt"/> of a request: the leader, or the
    /// manager a retry of this pull or push moved to, never another one at each request (a follower may not have
    /// applied yet the blob links this push just wrote on the leader).
    /// </summary>
    private RegistryClient NextClient(int attempt)
    {
        var state = _state() ?? throw new InvalidOperationException("this node left the swarm");
        var credentials = _credentials() ?? throw new InvalidOperationException("this node has no swarm certificate yet");
        var managers = state.Managers.OrderByDescending(m => m.Leader).Select(m => m.Addr).ToList();
        if (managers.Count == 0)
        {
            throw new InvalidOperationException("this node knows no manager yet");
        }

        HttpClient http;
        lock (_gate)
        {
            if (_http is not { } current || !ReferenceEquals(current.Credentials, credentials))
            {
                _http?.Http.Dispose();
                var handler = RemoteConfigFactory.MutualTlsHandler(credentials);
                _http = (credentials, new HttpClient(handler) { Timeout = RequestTimeout });
            }

            http = _http.Value.Http;
        }

        var index = s_turn.Value?.Pick(attempt, managers.Count) ?? 0;
        return new RegistryClient(http, new Uri($"https://{managers[index]}/"));
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _http?.Http.Dispose();
            _http = null;
        }
    }
}
