using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using ProtoSwarm.Actors.Agent.Tasks;
using ProtoSwarm.Containers.Images;
using ProtoSwarm.Containers.Runtime;
using ProtoSwarm.Containers.Volumes;
using ProtoSwarm.Contracts;
using ActorExit = ProtoSwarm.Actors.Agent.Tasks.ContainerExit;

namespace ProtoSwarm.Hosting.Runtime;

/// <summary>
/// The node's real executor (`protoswarmd --executor linux`): each task is a container started
/// through protoswarm-init (<see cref="LinuxContainer"/>) from an image in the node's own store. One
/// per node host; it keeps the containers it runs by task id, so a controller made again for the
/// same task (a task actor restarted) finds its container.
/// </summary>
internal sealed partial class LinuxExecutor : ITaskExecutor
{
    private readonly Func<ImageStore> _images;
    private readonly Func<VolumeStore> _volumes;
    private readonly ContainerRuntimeOptions _options;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, TaskContainer> _containers = new(StringComparer.Ordinal);

    public LinuxExecutor(Func<ImageStore> images, Func<VolumeStore> volumes, ContainerRuntimeOptions options, ILoggerFactory loggerFactory)
    {
        _images = images;
        _volumes = volumes;
        _options = options;
        _logger = loggerFactory.CreateLogger<LinuxExecutor>();
    }

    /// <summary>The images the containers of this node run (their ids), so `image rm` refuses them.</summary>
    public bool UsesImage(string imageId) => _containers.Values.Any(c => c.ImageId == imageId);

    public ITaskController CreateController(TaskObject task) => new Controller(this, task);

    /// <summary>What this executor made for one task: its specification once prepared, its container once started.</summary>
    private sealed class TaskContainer(ContainerSpecification specification, string imageId, int stopSignal, HealthCheck? health)
    {
        public ContainerSpecification Specification { get; } = specification;

        public string ImageId { get; } = imageId;

        public int StopSignal { get; } = stopSignal;

        public HealthCheck? Health { get; } = health;

        public LinuxContainer? Container { get; set; }

        public DateTimeOffset? StartedAt { get; set; }

        public SemaphoreSlim Gate { get; } = new(1, 1);
    }

    private sealed class Controller(LinuxExecutor executor, TaskObject task) : ITaskController
    {
        private readonly TimeSpan _grace = TaskStep.StopGracePeriodOf(task.Spec.Container);

        public async Task PrepareAsync(CancellationToken ct)
        {
            if (executor._containers.ContainsKey(task.Id))
            {
                return;
            }

            var reference = task.Spec.Container.Image;
            StoredImage image;
            try
            {
                image = await executor._images().InspectAsync(reference, ct);
            }
            catch (ImageStoreException e) when (e.Code == RejectCode.NotFound)
            {
                throw new InvalidOperationException(
                    $"No such image: {reference} on this node; load it with `protoswarm image load -i FILE` or `protoswarm image import ROOTFS.tar {reference}`");
            }

            var config = image.Config;
            var layers = executor._images().RootLayers(image);
            var spec = TaskContainers.Specification(task, image, layers);
            try
            {
                spec = spec with { Mounts = executor._volumes().ResolveMounts(task.Id, task.Spec.Container.Mounts, layers) };
            }
            catch (VolumeStoreException e)
            {
                throw new InvalidOperationException(e.Message, e);
            }

            var problems = LinuxContainer.Validate(spec);
            if (problems.Count > 0)
            {
                executor._volumes().Release(task.Id);
                throw new InvalidOperationException(string.Join("; ", problems));
            }

            var prepared = new TaskContainer(spec, image.Id, TaskContainers.StopSignal(task.Spec.Container, config),
                TaskContainers.HealthCheckOf(task.Spec.Container, config));
            executor._containers.TryAdd(task.Id, prepared);
        }

        public async Task StartAsync(CancellationToken ct)
        {
            var entry = Find() ?? throw new InvalidOperationException($"task {task.Id} has no container on this node; prepare it first");
            await entry.Gate.WaitAsync(ct);
            try
            {
                if (entry.Container is not null)
                {
                    return;
                }

                try
                {
                    entry.Container = await LinuxContainer.StartAsync(entry.Specification, executor._options, ct);
                }
                catch (InvalidContainerSpecificationException e)
                {
                    throw new InvalidOperationException(string.Join("; ", e.Problems), e);
                }
                catch (ContainerStartException e)
                {
                    throw new InvalidOperationException(e.Message, e);
                }

                entry.StartedAt = DateTimeOffset.UtcNow;
                LogStarted(executor._logger, task.Id, entry.Container.Pid);
            }
            finally
            {
                entry.Gate.Release();
            }
        }

        public async Task<ActorExit> WaitAsync(CancellationToken ct)
        {
            var container = Find()?.Container ?? throw new InvalidOperationException($"task {task.Id} has no running container on this node");
            var exit = await container.WaitAsync(ct);
            return new ActorExit(exit.ExitCode, exit.OomKilled);
        }

        public Task<ContainerHealth> WaitHealthAsync(ContainerHealth known, CancellationToken ct)
        {
            if (Find()?.Health is null)
            {
                return Task.FromResult(ContainerHealth.Healthy);
            }

            throw new InvalidOperationException("health checks do not run in real containers yet; remove the check with --no-healthcheck");
        }

        public async Task ShutdownAsync(CancellationToken ct)
        {
            if (Find() is { Container: { } container } entry)
            {
                await container.StopAsync(entry.StopSignal, _grace, ct);
            }
        }

        public async Task TerminateAsync(CancellationToken ct)
        {
            if (Find()?.Container is { } container)
            {
                await container.KillAsync(Signals.Kill, ct);
                await container.WaitAsync(ct);
            }
        }

        public async Task RemoveAsync(CancellationToken ct)
        {
            if (executor._containers.TryRemove(task.Id, out var entry) && entry.Container is { } container)
            {
                await container.RemoveAsync(ct);
            }

            executor._volumes().Release(task.Id);
        }

        public Task<ContainerInspection> InspectAsync(CancellationToken ct) =>
            Task.FromResult(Find() is { Container: not null } entry ? new ContainerInspection(true, entry.StartedAt) : ContainerInspection.Gone);

        public Task<IReadOnlyList<TaskLogEntry>> ReadLogsAsync(long after, int? tail, CancellationToken ct) =>
            Task.FromResult<IReadOnlyList<TaskLogEntry>>([]);

        private TaskContainer? Find() => executor._containers.GetValueOrDefault(task.Id);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "task {TaskId}: container started, pid {Pid}")]
    private static partial void LogStarted(ILogger logger, string taskId, int pid);
}
