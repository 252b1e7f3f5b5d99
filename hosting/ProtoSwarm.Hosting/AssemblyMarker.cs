namespace ProtoSwarm.Hosting;
internal static class AssemblyMarker;
