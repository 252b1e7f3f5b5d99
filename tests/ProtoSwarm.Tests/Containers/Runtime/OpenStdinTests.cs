using ProtoSwarm.Containers.Runtime;

namespace ProtoSwarm.Tests.Containers.Runtime;

// Docker's -i for a container's main process (`run -i`), on real busybox containers, as root: its stdin is the
// FIFO the node host writes, read to its end once that is closed; without it, /dev/null.
[Collection(ContainerCollection.Name)]
[Trait("Category", "Privileged")]
public sealed class OpenStdinTests(ContainerFixture fixture)
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task What_Is_Written_Reaches_The_Main_Process_And_Closing_Ends_Its_Stdin(bool init)
    {
        var spec = fixture.Spec("sh", "-c", "cat; echo done") with { OpenStdin = true, Init = init };
        await using var container = await LinuxContainer.StartAsync(spec, fixture.Options);

        var stdin = Assert.IsAssignableFrom<Stream>(container.Stdin);
        stdin.Write("hi\n"u8);
        stdin.Flush();
        await ContainerFixture.WaitForOutputAsync(container, "hi");
        Assert.False(container.WaitAsync().IsCompleted, "the container ended before its stdin was closed");
        container.CloseStdin();
        var exit = await container.WaitAsync().WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(0, exit.ExitCode);
        Assert.Equal("hi\ndone\n", ContainerFixture.Printed(container.ReadLogs(), ContainerLogStream.Stdout));
        Assert.Null(container.Stdin);
    }

    [Fact]
    public async Task Without_It_Stdin_Is_Dev_Null_And_There_Is_Nothing_To_Write()
    {
        var spec = fixture.Spec("sh", "-c", "cat; [ -c /proc/self/fd/0 ] && echo device");
        await using var container = await LinuxContainer.StartAsync(spec, fixture.Options);

        var exit = await container.WaitAsync().WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(0, exit.ExitCode);
        Assert.Null(container.Stdin);
        Assert.Equal("device\n", ContainerFixture.Printed(container.ReadLogs(), ContainerLogStream.Stdout));
    }

    [Fact]
    public async Task Input_For_A_Process_That_Ended_Fails_Rather_Than_Waiting()
    {
        var spec = fixture.Spec("true") with { OpenStdin = true };
        await using var container = await LinuxContainer.StartAsync(spec, fixture.Options);
        await container.WaitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        var stdin = Assert.IsAssignableFrom<Stream>(container.Stdin);

        // More than a FIFO holds: with no reader left, the write fails (EPIPE) at once.
        var write = Task.Run(() => stdin.Write(new byte[1 << 20]));

        await Assert.ThrowsAsync<IOException>(() => write.WaitAsync(TimeSpan.FromSeconds(10)));
    }
}
