namespace ProtoSwarm.Registry.Client;

/// <summary>
/// One step of a pull or push as docker prints it: <see cref="Id"/> is a blob's short digest (12 hex digits);
/// <see cref="Status"/> is docker's word for the step ("Pulling fs layer", "Downloading", "Verifying Checksum",
/// "Download complete", "Already exists"; "Preparing", "Pushing", "Pushed", "Layer already exists");
/// <see cref="Current"/> of <see cref="Total"/> bytes while bytes move.
/// </summary>
public sealed record TransferProgress(string Id, string Status, long Current = 0, long Total = 0);

/// <summary>Reports on the caller's thread, in order (<see cref="Progress{T}"/> posts to the thread pool and may reorder).</summary>
internal sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
