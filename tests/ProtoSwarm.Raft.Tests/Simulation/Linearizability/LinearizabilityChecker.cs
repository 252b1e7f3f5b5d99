namespace ProtoSwarm.Raft.Tests.Simulation.Linearizability;

/// <summary>A sequential specification: the state an operation sees and whether its recorded output fits.</summary>
public interface ISequentialModel<TOperation, TState>
    where TState : IEquatable<TState>
{
    TState Init();

    /// <summary>Applies <paramref name="operation"/> with its recorded output; false if that output is impossible from <paramref name="state"/>.</summary>
    bool Step(TState state, TOperation operation, out TState next);

    /// <summary>Operations on different partitions never affect each other (P-compositionality), so each is checked alone.</summary>
    string Partition(TOperation operation);
}

/// <summary>One operation as a client saw it: invoked at Call, answered at Return (long.MaxValue when it never was).</summary>
public readonly record struct TimedOperation<TOperation>(TOperation Operation, long Call, long Return)
{
    public bool IsPending => Return == long.MaxValue;
}

public enum LinearizabilityVerdict
{
    Linearizable,
    NotLinearizable,

    /// <summary>The search gave up (step budget); neither a pass nor a proof of a bug.</summary>
    Inconclusive,
}

public sealed record LinearizabilityResult<TOperation>(
    LinearizabilityVerdict Verdict,
    string? Partition,
    IReadOnlyList<TimedOperation<TOperation>> PartitionHistory,
    int LongestLinearizedPrefix)
{
    public bool IsLinearizable => Verdict == LinearizabilityVerdict.Linearizable;
}

/// <summary>
/// Wing and Gong's search with Lowe's memoisation, as Porcupine does it: the history becomes a
/// time-ordered list of call and return events; we try to linearize the earliest calls first,
/// lifting an operation out of the list when it is linearized and backtracking when we meet a
/// return whose operation is not yet linearized. A (linearized set, model state) pair already
/// explored is never explored again. Each partition (key) is checked on its own.
/// Pending operations (no answer) may take effect at any time after their call, or never:
/// give them Return = long.MaxValue, and have the model accept any output for them.
/// </summary>
public static class LinearizabilityChecker
{
    public static LinearizabilityResult<TOperation> Check<TOperation, TState>(
        ISequentialModel<TOperation, TState> model,
        IEnumerable<TimedOperation<TOperation>> history,
        long stepBudgetPerPartition = 20_000_000)
        where TState : IEquatable<TState>
    {
        var partitions = new SortedDictionary<string, List<TimedOperation<TOperation>>>(StringComparer.Ordinal);
        foreach (var op in history)
        {
            if (op.Return < op.Call)
            {
                throw new ArgumentException($"operation {op.Operation} returns ({op.Return}) before its call ({op.Call})", nameof(history));
            }

            var key = model.Partition(op.Operation);
            if (!partitions.TryGetValue(key, out var list))
            {
                list = [];
                partitions.Add(key, list);
            }

            list.Add(op);
        }

        foreach (var (key, ops) in partitions)
        {
            var (verdict, longest) = CheckPartition(model, ops, stepBudgetPerPartition);
            if (verdict != LinearizabilityVerdict.Linearizable)
            {
                return new LinearizabilityResult<TOperation>(verdict, key, ops, longest);
            }
        }

        return new LinearizabilityResult<TOperation>(LinearizabilityVerdict.Linearizable, null, [], 0);
    }

    private sealed class Event
    {
        public required int OpId { get; init; }

        public required bool IsCall { get; init; }

        public required long Time { get; init; }

        public Event? Match { get; set; }

        public Event? Prev { get; set; }

        public Event? Next { get; set; }
    }

    private static (LinearizabilityVerdict Verdict, int Longest) CheckPartition<TOperation, TState>(
        ISequentialModel<TOperation, TState> model,
        List<TimedOperation<TOperation>> ops,
        long budget)
        where TState : IEquatable<TState>
    {
        var head = BuildEventList(ops);
        var linearized = new BitSet(ops.Count);
        var cache = new HashSet<(BitSet, TState)>();
        var calls = new Stack<(Event Call, TState StateBefore)>();
        var state = model.Init();
        var longest = 0;
        var entry = head.Next;
        long steps = 0;

        while (head.Next is not null)
        {
            if (++steps > budget)
            {
                return (LinearizabilityVerdict.Inconclusive, longest);
            }

            if (entry!.IsCall)
            {
                if (model.Step(state, ops[entry.OpId].Operation, out var next))
                {
                    linearized.Set(entry.OpId);
                    if (cache.Add((linearized.Clone(), next)))
                    {
                        calls.Push((entry, state));
                        state = next;
                        longest = Math.Max(longest, calls.Count);
                        Lift(entry);
                        entry = head.Next;
                        continue;
                    }

                    linearized.Clear(entry.OpId);
                }

                entry = entry.Next;
            }
            else
            {
                // A return whose call is still in the list: that operation had to be linearized
                // before this point and was not; undo the last choice and try the next call.
                if (calls.Count == 0)
                {
                    return (LinearizabilityVerdict.NotLinearizable, longest);
                }

                var (call, before) = calls.Pop();
                state = before;
                linearized.Clear(call.OpId);
                Unlift(call);
                entry = call.Next;
            }
        }

        return (LinearizabilityVerdict.Linearizable, longest);
    }

    private static Event BuildEventList<TOperation>(List<TimedOperation<TOperation>> ops)
    {
        var events = new List<Event>(ops.Count * 2);
        for (var i = 0; i < ops.Count; i++)
        {
            var call = new Event { OpId = i, IsCall = true, Time = ops[i].Call };
            var ret = new Event { OpId = i, IsCall = false, Time = ops[i].Return };
            call.Match = ret;
            ret.Match = call;
            events.Add(call);
            events.Add(ret);
        }

        // Same time: calls first, so the two operations count as concurrent (the permissive reading).
        events.Sort((a, b) =>
        {
            var byTime = a.Time.CompareTo(b.Time);
            if (byTime != 0)
            {
                return byTime;
            }

            if (a.IsCall != b.IsCall)
            {
                return a.IsCall ? -1 : 1;
            }

            return a.OpId.CompareTo(b.OpId);
        });

        var head = new Event { OpId = -1, IsCall = true, Time = long.MinValue };
        var last = head;
        foreach (var e in events)
        {
            last.Next = e;
            e.Prev = last;
            last = e;
        }

        return head;
    }

    private static void Lift(Event call)
    {
        call.Prev!.Next = call.Next;
        if (call.Next is not null)
        {
            call.Next.Prev = call.Prev;
        }

        var ret = call.Match!;
        ret.Prev!.Next = ret.Next;
        if (ret.Next is not null)
        {
            ret.Next.Prev = ret.Prev;
        }
    }

    private static void Unlift(Event call)
    {
        var ret = call.Match!;
        ret.Prev!.Next = ret;
        if (ret.Next is not null)
        {
            ret.Next.Prev = ret;
        }

        call.Prev!.Next = call;
        if (call.Next is not null)
        {
            call.Next.Prev = call;
        }
    }

    /// <summary>The set of linearized operations, compared by value for the memo.</summary>
    private sealed class BitSet : IEquatable<BitSet>
    {
        private readonly ulong[] _words;

        public BitSet(int bits) => _words = new ulong[(bits + 63) / 64];

        private BitSet(ulong[] words) => _words = words;

        public void Set(int i) => _words[i >> 6] |= 1UL << (i & 63);

        public void Clear(int i) => _words[i >> 6] &= ~(1UL << (i & 63));

        public BitSet Clone() => new((ulong[])_words.Clone());

        public bool Equals(BitSet? other) => other is not null && _words.AsSpan().SequenceEqual(other._words);

        public override bool Equals(object? obj) => Equals(obj as BitSet);

        public override int GetHashCode()
        {
            var hash = new HashCode();
            foreach (var w in _words)
            {
                hash.Add(w);
            }

            return hash.ToHashCode();
        }
    }
}
