namespace ProtoSwarm.Persistence.Sealing;

/// <summary>
/// The manager's data key is wrapped by the swarm's unlock key (autolock) and no key was given:
/// the manager is locked, not broken. The node host reports <c>locked</c> and waits for `swarm unlock`.
/// </summary>
public sealed class SwarmLockedException : PersistenceException
{
    public SwarmLockedException(string message)
        : base(message)
    {
    }

    public SwarmLockedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public SwarmLockedException()
    {
    }
}

/// <summary>An unlock key was given and it does not open this manager's data key.</summary>
public sealed class InvalidUnlockKeyException : PersistenceException
{
    public InvalidUnlockKeyException(string message)
        : base(message)
    {
    }

    public InvalidUnlockKeyException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public InvalidUnlockKeyException()
    {
    }
}
