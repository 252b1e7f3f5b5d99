namespace ProtoSwarm.Actors.Managers;

/// <summary>What a requested root did to the swarm (<see cref="SwarmCa.RotateTo"/>).</summary>
public enum RootChange
{
    /// <summary>The root is the one the swarm has, or the one it already rotates to.</summary>
    Unchanged,

    /// <summary>A rotation to the root started.</summary>
    Started,

    /// <summary>A rotation in progress was abandoned for one to the root.</summary>
    Replaced,

    /// <summary>The root was the active one: the rotation in progress was cancelled.</summary>
    Cancelled,
}
