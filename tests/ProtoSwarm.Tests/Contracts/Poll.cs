namespace ProtoSwarm.Tests.Contracts;

/// <summary>
/// Waits for a condition that other threads or actors make true, polling it every 25 ms, and fails
/// the test with what it waited for when the time is up. One helper for every test class that waits
/// on actors, so the polling and the failure message are the same everywhere.
/// </summary>
internal static class Poll
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(25);

    /// <summary>The wait when a test gives none.</summary>
    public static readonly TimeSpan DefaultWithin = TimeSpan.FromSeconds(10);

    public static Task Until(Func<bool> condition, string what, TimeSpan? within = null) =>
        Until(() => Task.FromResult(condition()), what, within);

    public static async Task Until(Func<Task<bool>> condition, string what, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? DefaultWithin);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting until {what}");
            await Task.Delay(Interval);
        }
    }
}
