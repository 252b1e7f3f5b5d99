// A .NET program that talks to a swarm with typed messages over mutual TLS, as any client actor does.
// Get a client certificate on a manager first, then point the sample at a manager and at it:
//   protoswarm ca issue-client --out /root/.protoswarm/client
//   dotnet run --project samples/client-actors -- 10.0.0.1:2377 /root/.protoswarm/client
// In a lab: protoswarm lab exec w1 -- dotnet samples/client-actors/bin/Release/net10.0/ClientActors.dll 10.250.0.11:2377 DIR
using ProtoSwarm.Client;
using ProtoSwarm.Contracts;

var managerAddr = args.Length > 0 ? args[0] : Environment.GetEnvironmentVariable("PROTOSWARM_MANAGER") ?? "127.0.0.1:2377";
var certificateDir = args.Length > 1 ? args[1] : ClientCertificates.DefaultDirectory();
if (certificateDir is null)
{
    Console.Error.WriteLine("Error: give the client certificate directory as the second argument (or PROTOSWARM_CERT_PATH); make one on a manager with `protoswarm ca issue-client --out DIR`.");
    return 2;
}

try
{
    await using var swarm = await SwarmClient.ConnectAsync(managerAddr, certificateDir);
    var summary = await swarm.Swarm.SummaryAsync();
    Console.WriteLine($"Swarm {summary.ClusterId}: {summary.Nodes} nodes, {summary.Managers} managers");

    var nodes = await swarm.Nodes.ListAsync();
    foreach (var node in nodes)
    {
        Console.WriteLine($"  {node.Id}  {node.Description.Hostname,-12} {node.Status.State,-6} {node.Spec.Availability,-6} {node.Role}");
    }

    // A round trip that changes something and puts it back: label the first node, then remove the label.
    var first = nodes[0];
    var labelled = await swarm.Nodes.UpdateAsync(first.Id, labelsAdd: new Dictionary<string, string> { ["sample"] = "client-actors" });
    Console.WriteLine($"Labelled {labelled.Node.Description.Hostname}: sample={labelled.Node.Spec.Labels["sample"]}");
    await swarm.Nodes.UpdateAsync(first.Id, labelsRemove: ["sample"]);
    Console.WriteLine("Label removed again.");
    return 0;
}
catch (SwarmCommandException e)
{
    Console.Error.WriteLine($"Error: {e.Message}");
    return 1;
}
