namespace ProtoSwarm.Cli.Commands;

/// <summary>A value read from the command line, or the sentence that says why it cannot be used.</summary>
internal readonly record struct Checked<T>(T Value, string? Error)
{
    public bool IsValid => Error is null;

    public static Checked<T> Ok(T value) => new(value, null);

    public static Checked<T> Fail(string error) => new(default!, error);
}
