namespace ProtoSwarm.IntegrationTests;

/// <summary>
/// Lab tests run one at a time: each lab is several protoswarmd processes, and the Raft tests hold
/// elections to time bounds that two labs sharing a small machine's cores would blur.
/// </summary>
[CollectionDefinition(Name)]
public sealed class LabCollection
{
    public const string Name = "Lab";
}
