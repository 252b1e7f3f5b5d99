using System.Text.Json.Serialization;

namespace VotingApp;

/// <summary>One vote on its way through redis: who, which option ("a" or "b"), and when it was cast (Unix ms), so an older vote never overwrites a newer one.</summary>
public sealed record VoteItem(string VoterId, string Vote, long Ts);

/// <summary>The vote service's answer to a script: the vote is in redis.</summary>
public sealed record VoteReceipt(string VoterId, string Vote, string Option, string Hostname);

public sealed record OptionCount(string Id, string Name, long Votes, double Percent);

/// <summary>The result service's `GET /api/results`.</summary>
public sealed record Results(IReadOnlyList<OptionCount> Options, long Total, string Hostname);

public sealed record ErrorReply(string Error);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(VoteItem))]
[JsonSerializable(typeof(VoteReceipt))]
[JsonSerializable(typeof(Results))]
[JsonSerializable(typeof(ErrorReply))]
internal sealed partial class AppJson : JsonSerializerContext;
