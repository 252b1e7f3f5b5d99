namespace ProtoSwarm.IntegrationTests;

/// <summary>samples/client-actors, run as a user would, against a manager of a lab swarm.</summary>
[Trait("Category", "Cluster")]
[Collection(LabCollection.Name)]
public class ClientActorsSampleTests
{
    [Fact]
    public async Task The_Sample_Lists_The_Nodes_And_Labels_One_Over_Proto_Remote()
    {
        await using var lab = await LabFixture.UpAsync(managers: 1, workers: 1);
        var m1 = await lab.NodeAsync("m1");
        var address = m1.GetProperty("Address").GetString();

        // An operator's client certificate, made on the manager; the sample then runs from the worker's namespace
        // and reaches the manager across the lab's network, over mutual TLS.
        var certificateDir = Path.Combine(lab.StateRoot, "client-cert");
        var issued = await lab.ExecAsync("m1", "protoswarm", "ca", "issue-client", "--out", certificateDir);
        Assert.True(issued.ExitCode == 0, issued.ToString());
        var run = await lab.ExecAsync("w1", "dotnet", SamplePath(), $"{address}:2377", certificateDir);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("2 nodes, 1 managers", run.StdOut, StringComparison.Ordinal);
        Assert.Contains("sample=client-actors", run.StdOut, StringComparison.Ordinal);
        Assert.Contains("Label removed again.", run.StdOut, StringComparison.Ordinal);
    }

    private static string SamplePath()
    {
        // <repo>/tests/ProtoSwarm.IntegrationTests/bin/<Configuration>/<tfm>/ -> <repo>/samples/client-actors/bin/<Configuration>/<tfm>/
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));
        var repo = output.Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
        var path = Path.Combine(repo, "samples", "client-actors", "bin", output.Parent.Name, output.Name, "ClientActors.dll");
        return File.Exists(path) ? path : throw new InvalidOperationException($"Build the solution first: {path} is missing.");
    }
}
