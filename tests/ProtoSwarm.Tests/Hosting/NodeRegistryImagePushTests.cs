using Microsoft.Extensions.Logging.Abstractions;
using ProtoSwarm.Containers.Images;
using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Runtime;
using ProtoSwarm.Persistence;
using static ProtoSwarm.Tests.Containers.Images.TestImages;

namespace ProtoSwarm.Tests.Hosting;

/// <summary>
/// What `image push` takes as its source on the node: a name of a local image, never an id. The node is
/// in a swarm but has no certificate, so anything that gets past the check fails on its way to a manager.
/// </summary>
[Trait("Category", "Privileged")]
public sealed class NodeRegistryImagePushTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("protoswarm-push-").FullName;
    private readonly ImageStore _store;
    private readonly NodeRegistry _registry;

    public NodeRegistryImagePushTests()
    {
        _store = new ImageStore(Path.Combine(_dir, "images"));
        var state = new NodeLocalState("node1", "cluster1", NodeRole.Manager, "10.0.0.1:2377", [new ManagerAddress("node1", "10.0.0.1:2377", Leader: true)]);
        _registry = new NodeRegistry(() => _store, () => state, () => null, NullLoggerFactory.Instance);
    }

    public void Dispose()
    {
        _registry.Dispose();
        _store.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Image_Push_Of_An_Image_Id_Or_Id_Prefix_Is_Refused_As_Docker_Does_Before_Any_Manager_Is_Asked()
    {
        var image = Assert.Single(await _store.LoadAsync(new MemoryStream(DockerSave(["myapp:1.0"]))));

        foreach (var reference in new[] { image.Id[7..19], image.Id[7..], "myapp:2.0" })
        {
            var refused = Assert.IsType<CommandRejected>(await _registry.HandleAsync(new PushImage("r1", reference), default));

            Assert.Equal(RejectCode.NotFound, refused.Code);
            Assert.StartsWith($"An image does not exist locally with the tag: {reference};", refused.Reason, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Image_Push_Of_A_Name_Of_The_Image_Goes_On_To_The_Registry()
    {
        await _store.LoadAsync(new MemoryStream(DockerSave(["myapp:1.0"])));

        var towardsManager = await Assert.ThrowsAsync<InvalidOperationException>(() => _registry.HandleAsync(new PushImage("r1", "myapp:1.0"), default));

        Assert.Contains("no swarm certificate", towardsManager.Message, StringComparison.Ordinal);
    }
}
