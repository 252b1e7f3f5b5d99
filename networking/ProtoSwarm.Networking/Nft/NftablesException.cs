namespace ProtoSwarm.Networking.Nft;

/// <summary>nft refused a ruleset; nothing of it was applied. The message is nft's own error text.</summary>
public sealed class NftablesException : Exception
{
    public NftablesException()
    {
    }

    public NftablesException(string message)
        : base(message)
    {
    }

    public NftablesException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
