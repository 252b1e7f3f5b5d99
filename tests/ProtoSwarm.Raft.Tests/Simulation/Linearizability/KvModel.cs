namespace ProtoSwarm.Raft.Tests.Simulation.Linearizability;

public enum KvOpKind
{
    Put,
    Get,
    Append,
}

/// <summary>
/// A client's operation on one key. Output is what a Get returned ("" for a missing key); it is
/// ignored for Put and Append, and for any operation whose answer never came (Unknown).
/// </summary>
public sealed record KvOperation(int ClientId, KvOpKind Kind, string Key, string Value, string? Output, bool Unknown = false)
{
    public override string ToString() => Kind switch
    {
        KvOpKind.Get => $"c{ClientId} get({Key}) -> {(Unknown ? "?" : $"'{Output}'")}",
        KvOpKind.Put => $"c{ClientId} put({Key}, '{Value}'){(Unknown ? " ?" : "")}",
        _ => $"c{ClientId} append({Key}, '{Value}'){(Unknown ? " ?" : "")}",
    };
}

/// <summary>The sequential key/value store the replicated state machine must look like, one key at a time.</summary>
public sealed class KvModel : ISequentialModel<KvOperation, string>
{
    public static readonly KvModel Instance = new();

    public string Init() => "";

    public string Partition(KvOperation operation) => operation.Key;

    public bool Step(string state, KvOperation operation, out string next)
    {
        switch (operation.Kind)
        {
            case KvOpKind.Put:
                next = operation.Value;
                return true;
            case KvOpKind.Append:
                next = state + operation.Value;
                return true;
            default:
                next = state;
                return operation.Unknown || string.Equals(operation.Output, state, StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// Checks a client history; a Get that never answered is dropped (it changed nothing), a write that
    /// never answered stays in as pending: it may have taken effect at any time after its call, or never.
    /// </summary>
    public static LinearizabilityResult<KvOperation> Check(IEnumerable<TimedOperation<KvOperation>> history) =>
        LinearizabilityChecker.Check(Instance, history.Where(op => !(op.Operation.Kind == KvOpKind.Get && op.Operation.Unknown)));

    public static string Describe(LinearizabilityResult<KvOperation> result)
    {
        if (result.IsLinearizable)
        {
            return "linearizable";
        }

        var lines = result.PartitionHistory
            .OrderBy(op => op.Call)
            .Select(op => $"  [{op.Call,6} .. {(op.IsPending ? "pending" : op.Return.ToString(System.Globalization.CultureInfo.InvariantCulture)),7}] {op.Operation}");
        return $"{result.Verdict} on key '{result.Partition}' (longest linearizable prefix {result.LongestLinearizedPrefix} of {result.PartitionHistory.Count} operations):{Environment.NewLine}{string.Join(Environment.NewLine, lines)}";
    }
}
