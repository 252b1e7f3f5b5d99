using Microsoft.Extensions.Time.Testing;
using ProtoSwarm.Actors.Agent.Tasks;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Tests.Agent;

public sealed class TaskUsageSamplerTests
{
    /// <summary>Containers whose CPU counters grow with the fake clock at a given number of cores each.</summary>
    private sealed class MeteredExecutor(FakeTimeProvider time, Dictionary<string, double> cores) : ITaskExecutor
    {
        private readonly DateTimeOffset _start = time.GetUtcNow();

        public List<string[]> Reads { get; } = [];

        public ITaskController CreateController(TaskObject task) => throw new NotSupportedException();

        public Task<IReadOnlyDictionary<string, TaskUsageSample>> SampleUsageAsync(IReadOnlyCollection<string> taskIds, CancellationToken ct)
        {
            lock (Reads)
            {
                Reads.Add([.. taskIds]);
            }

            var elapsed = (time.GetUtcNow() - _start).Ticks * 100L;
            return Task.FromResult<IReadOnlyDictionary<string, TaskUsageSample>>(taskIds.Where(cores.ContainsKey)
                .ToDictionary(id => id, id => new TaskUsageSample((long)(elapsed * cores[id]), 10 << 20, 1 << 30, 2, null)));
        }
    }

    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    [Theory]
    [InlineData(0L, 1_000_000_000L, 1000, 100.0)]
    [InlineData(0L, 500_000_000L, 1000, 50.0)]
    [InlineData(1_000_000_000L, 5_000_000_000L, 2000, 200.0)]
    [InlineData(5L, 4L, 1000, 0.0)]
    [InlineData(0L, 10L, 0, 0.0)]
    public void Cpu_Percent_Is_Cpu_Time_Over_Wall_Time_With_100_Per_Core(long from, long to, int windowMs, double expected)
    {
        Assert.Equal(expected, TaskUsageSampler.CpuPercent(from, to, TimeSpan.FromMilliseconds(windowMs)), 6);
    }

    [Fact]
    public async Task A_First_Question_Reads_Every_Task_Twice_In_One_Wait()
    {
        _time.Advance(TimeSpan.FromSeconds(5));
        var executor = new MeteredExecutor(_time, new() { ["half"] = 0.5, ["two"] = 2.0 });
        var sampler = new TaskUsageSampler(executor, _time);

        var reading = sampler.ReadAsync(["half", "two", "gone"], default);
        Assert.False(reading.IsCompleted);
        _time.Advance(TaskUsageSampler.SecondReadingAfter);
        var usage = await reading.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(["half", "two"], usage.Select(u => u.TaskId));
        Assert.Equal(50.0, usage[0].CpuPercent, 6);
        Assert.Equal(200.0, usage[1].CpuPercent, 6);
        Assert.Equal(new TaskUsage("half", usage[0].CpuPercent, 10 << 20, 1 << 30, 2), usage[0]);
        Assert.Equal([["half", "two", "gone"], ["half", "two"]], executor.Reads);
    }

    [Fact]
    public async Task A_Question_Soon_After_Measures_From_The_Kept_Reading_Without_Waiting()
    {
        var executor = new MeteredExecutor(_time, new() { ["t"] = 1.0 });
        var sampler = new TaskUsageSampler(executor, _time);
        var first = sampler.ReadAsync(["t"], default);
        _time.Advance(TaskUsageSampler.SecondReadingAfter);
        await first.WaitAsync(TimeSpan.FromSeconds(5));

        _time.Advance(TimeSpan.FromSeconds(3));
        var second = sampler.ReadAsync(["t"], default);

        Assert.True(second.IsCompleted);
        Assert.Equal(100.0, (await second).Single().CpuPercent, 6);
        Assert.Equal(3, executor.Reads.Count);
    }

    [Fact]
    public async Task A_Reading_Too_Old_Or_Too_Recent_Is_Not_Measured_From()
    {
        var executor = new MeteredExecutor(_time, new() { ["t"] = 1.0 });
        var sampler = new TaskUsageSampler(executor, _time);
        var first = sampler.ReadAsync(["t"], default);
        _time.Advance(TaskUsageSampler.SecondReadingAfter);
        await first.WaitAsync(TimeSpan.FromSeconds(5));

        _time.Advance(TaskUsageSampler.LongestWindow + TimeSpan.FromSeconds(1));
        var late = sampler.ReadAsync(["t"], default);
        Assert.False(late.IsCompleted);
        _time.Advance(TaskUsageSampler.SecondReadingAfter);
        await late.WaitAsync(TimeSpan.FromSeconds(5));

        _time.Advance(TimeSpan.FromMilliseconds(10));
        var soon = sampler.ReadAsync(["t"], default);
        Assert.False(soon.IsCompleted);
        _time.Advance(TaskUsageSampler.SecondReadingAfter);
        Assert.Equal(100.0, (await soon.WaitAsync(TimeSpan.FromSeconds(5))).Single().CpuPercent, 6);
        Assert.Equal(6, executor.Reads.Count);
    }
}
