namespace ProtoSwarm.Persistence;
internal static class AssemblyMarker;
