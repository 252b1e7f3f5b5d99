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

    /// <summary>An image name to store under (NAME[:TAG], never a digest); a bad one is the caller's mistake.</summary>
    public static ImageReference ParseName(string text) =>
        ImageReference.TryParse(text, out var reference, out var error) ? reference : throw new ImageStoreException(RejectCode.InvalidArgument, error);
}
