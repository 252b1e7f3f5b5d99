// Every test class here starts labs: none may run beside another, whether or not it names the
// collection (two classes without it once ran their labs beside the Raft tests' elections).
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace ProtoSwarm.IntegrationTests;

/// <summary>
/// Lab tests run one at a time: each lab is several protoswarmd processes, and the Raft tests hold
/// elections to time bounds that two labs sharing a small machine's cores would blur.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LabCollection
{
    public const string Name = "Lab";
}
