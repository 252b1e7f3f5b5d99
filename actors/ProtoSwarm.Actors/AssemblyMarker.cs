namespace ProtoSwarm.Actors;
internal static class AssemblyMarker;
