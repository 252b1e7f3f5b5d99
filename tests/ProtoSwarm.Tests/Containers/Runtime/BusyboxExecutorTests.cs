using ProtoSwarm.Containers.Images;
using ProtoSwarm.Hosting.Runtime;

namespace ProtoSwarm.Tests.Containers.Runtime;

/// <summary>
/// The set-up of a test class that runs tasks of one busybox image through the Linux executor, as root:
/// a directory of its own, the executor and image store a node host makes over it
/// (<see cref="ContainerFixture.BusyboxExecutorAsync"/>), both gone after the class.
/// </summary>
public abstract class BusyboxExecutorTests(ContainerFixture fixture, string directoryPrefix, string image) : IAsyncLifetime
{
    protected ContainerFixture Fixture { get; } = fixture;

    protected string Dir { get; } = Directory.CreateTempSubdirectory(directoryPrefix).FullName;

    protected ImageStore Images { get; private set; } = null!;

    private protected LinuxExecutor Executor { get; private set; } = null!;

    public async Task InitializeAsync() => (Images, Executor) = await Fixture.BusyboxExecutorAsync(Dir, image);

    public Task DisposeAsync()
    {
        Images.Dispose();
        Directory.Delete(Dir, recursive: true);
        return Task.CompletedTask;
    }
}
