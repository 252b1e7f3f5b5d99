namespace ProtoSwarm.Tests.Contracts;

/// <summary>A bound on any single wait in a test, so a hang fails the test instead of the run.</summary>
internal static class TestTimeout
{
    public static readonly TimeSpan Span = TimeSpan.FromSeconds(15);

    public static CancellationToken Token => new CancellationTokenSource(Span).Token;
}
