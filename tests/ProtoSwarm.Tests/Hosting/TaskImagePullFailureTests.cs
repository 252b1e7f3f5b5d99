using System.Net;
using ProtoSwarm.Hosting.Runtime;
using ProtoSwarm.Registry.Client;

namespace ProtoSwarm.Tests.Hosting;

// The reason a task is rejected with when its node lacks the image and the swarm's registry cannot give it.
public sealed class TaskImagePullFailureTests
{
    [Fact]
    public void A_Registrys_Answer_Keeps_Its_Own_Advice_And_Gets_None_Added()
    {
        var refusal = new RegistryClientException(
            "image app:1 is not in the registry at 10.0.0.1:5000; push the image first from a manager (`protoswarm image push app:1`), or see what the registry holds with `protoswarm registry ls` [MANIFEST_UNKNOWN]",
            HttpStatusCode.NotFound, "MANIFEST_UNKNOWN", "10.0.0.1:5000", "library/app", "1");

        var reason = LinuxExecutor.PullFailure("app:1", refusal);

        Assert.StartsWith("No such image: app:1 on this node, and the swarm's registry could not give it: image app:1 is not in", reason);
        Assert.EndsWith("[MANIFEST_UNKNOWN]", reason);
        Assert.DoesNotContain("push it from a node", reason);
    }

    [Fact]
    public void A_Failure_Without_An_Answer_Gets_The_Nodes_Advice()
    {
        var noAnswer = new RegistryClientException("registry 10.0.0.1:5000: connection refused", null, "UNAVAILABLE", "10.0.0.1:5000", "library/app", "1");
        var notInSwarm = new InvalidOperationException("this node is not in a swarm, so it has no registry to pull from");

        foreach (var e in new Exception[] { noAnswer, notInSwarm })
        {
            var reason = LinuxExecutor.PullFailure("app:1", e);
            Assert.Contains(e.Message, reason);
            Assert.EndsWith("push it from a node that has it with `protoswarm image push`, or load it here with `protoswarm image load -i FILE`", reason);
        }
    }
}
