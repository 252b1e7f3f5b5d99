namespace ProtoSwarm.Networking;

/// <summary>
/// Runs short work on a thread that sits in one network namespace (the namespace is a property of the
/// calling thread, and a socket stays in the namespace it was created in). The node agent implements it
/// over its namespace threads; DNS and nftables code only asks for "run this there".
/// </summary>
public interface INamespaceRunner
{
    Task<T> RunAsync<T>(Func<T> work);
}
