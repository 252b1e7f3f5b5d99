using ProtoSwarm.Contracts;

namespace ProtoSwarm.Containers.Images;

/// <summary>
/// An image operation refused: a corrupt or unknown archive, an unknown reference, an image in use.
/// The message says what was wrong, where, and what to do; <see cref="Code"/> is what the control
/// socket replies with.
/// </summary>
public sealed class ImageStoreException(RejectCode code, string message) : Exception(message)
{
    public RejectCode Code { get; } = code;

    internal static ImageStoreException Corrupt(string message) => new(RejectCode.InvalidArgument, message);
}
