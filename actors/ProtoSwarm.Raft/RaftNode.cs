using System.Diagnostics.CodeAnalysis;

namespace ProtoSwarm.Raft;

/// <summary>
/// One Raft peer as a pure state machine (etcd's raft.RawNode): no I/O, no threads, no clock.
/// The caller feeds it ticks and messages and drains <see cref="Ready"/> batches.
/// Implementation: RaftNode.Api.cs (the surface and Ready), RaftNode.Step.cs (message dispatch and
/// terms), RaftNode.Election.cs, RaftNode.Replication.cs, RaftNode.Membership.cs, RaftNode.Reads.cs.
/// </summary>
public sealed partial class RaftNode
{
    // The candidate's Vote context when a leader handed over (TimeoutNow): voters grant it even
    // inside a leader lease, since the lease holder itself asked for the election.
    private static readonly byte[] CampaignTransferContext = "CampaignTransfer"u8.ToArray();

    private readonly RaftConfig _config;
    private readonly RaftLog _log;
    private readonly ProgressTracker _tracker;
    private readonly ReadOnlyQueue _readOnly = new();
    private readonly List<Message> _messages = [];
    private readonly List<Message> _messagesAfterWrite = [];
    private readonly Queue<(Ready Ready, ulong Generation)> _writes = new();
    private readonly bool _async;
    private readonly List<ReadState> _readStates = [];
    private readonly List<Message> _pendingReadIndex = [];
    private readonly Random _random;

    private ulong _term;
    private ulong _vote;
    private ulong _lead;
    private StateRole _role;
    private int _electionElapsed;
    private int _heartbeatElapsed;
    private int _randomizedElectionTimeout;
    private ulong _leadTransferee;

    // The index of the last ConfChange entry this leader appended; another may be proposed once it is applied.
    private ulong _pendingConfIndex;

    private SoftState _prevSoftState;
    private HardState _prevHardState;
    private bool _readyOutstanding;

    // The term and vote the caller has reported written (asynchronous writes): until a new one is,
    // nothing this peer says may go out before the write that holds it.
    private ulong _durableTerm;
    private ulong _durableVote;

    /// <summary>
    /// Starts a peer over what <paramref name="log"/> holds. Its InitialState's ConfState must be the
    /// membership as of <see cref="RaftConfig.Applied"/> (the snapshot's, when Applied is 0 or the
    /// snapshot index): the caller re-applies later entries and their ConfChanges.
    /// </summary>
    public RaftNode(RaftConfig config, IRaftLog log)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(log);
        Validate(config);
        _config = config;
        _async = config.AsyncStorageWrites;
        _random = new Random(unchecked(config.RandomSeed ^ (int)(config.Id ^ (config.Id >> 32))));
        _log = new RaftLog(log, config.MaxCommittedSizePerReady);
        _tracker = new ProgressTracker(config.MaxInflightMessages);

        var (hardState, confState) = log.InitialState();
        _tracker.Reset(confState, _log.LastIndex());
        if (!hardState.IsEmpty)
        {
            _log.CommitTo(hardState.Commit);
            _term = hardState.Term;
            _vote = hardState.Vote;
        }

        // A snapshot holds only committed entries, and with asynchronous writes the application may
        // have taken one of entries whose commit index had not reached the disk yet.
        _log.CommitTo(log.Snapshot().Metadata.Index);

        if (config.Applied > 0)
        {
            _log.AppliedTo(config.Applied);
        }

        _prevHardState = hardState;
        _durableTerm = hardState.Term;
        _durableVote = hardState.Vote;
        _prevSoftState = new SoftState(0, StateRole.Follower);
        BecomeFollower(_term, 0);

        if (config.ForceNewCluster)
        {
            ForceNewCluster(confState);
        }
    }

    public ulong Id => _config.Id;

    private static void Validate(RaftConfig config)
    {
        if (config.Id == 0)
        {
            throw new ArgumentException("a peer id is never 0", nameof(config));
        }

        if (config.HeartbeatTick <= 0 || config.ElectionTick <= config.HeartbeatTick)
        {
            throw new ArgumentException(
                $"ElectionTick ({config.ElectionTick}) must exceed HeartbeatTick ({config.HeartbeatTick}), which must be positive",
                nameof(config));
        }

        if (config.MaxInflightMessages <= 0)
        {
            throw new ArgumentException("MaxInflightMessages must be positive", nameof(config));
        }
    }

    [SuppressMessage("Security", "CA5394:Do not use insecure randomness", Justification = "Election jitter, seeded so that runs replay; not a secret.")]
    private void ResetRandomizedElectionTimeout() =>
        _randomizedElectionTimeout = _config.ElectionTick + _random.Next(_config.ElectionTick);

    private static Message NewMessage(MessageType type, ulong to) =>
        new(type, to, 0, 0, 0, 0, [], 0, null, false, 0, null);

    /// <summary>Queues a message for the next Ready; stamps our id and, for most types, our term.</summary>
    private void Send(Message message)
    {
        if (message.From == 0)
        {
            message = message with { From = Id };
        }

        switch (message.Type)
        {
            case MessageType.Vote or MessageType.VoteResponse or MessageType.PreVote or MessageType.PreVoteResponse:
                // These carry the term they are about (a pre-vote the term the candidate would take).
                if (message.Term == 0)
                {
                    throw new InvalidOperationException($"{message.Type} needs its term set");
                }

                break;
            case MessageType.Propose or MessageType.ReadIndex:
                // Forwarded to the leader with no term: it treats them as its own local requests.
                break;
            default:
                message = message with { Term = _term };
                break;
        }

        if (_async && message.Type is MessageType.AppendResponse or MessageType.VoteResponse or MessageType.PreVoteResponse or MessageType.HeartbeatResponse)
        {
            // Answers speak for this peer's log, term and vote (and a heartbeat's answer for its
            // commit index, which may lie in entries still being written): they wait for the writes
            // handed out so far, the next one included.
            _messagesAfterWrite.Add(message);
            return;
        }

        _messages.Add(message);
    }
}

/// <summary>A peer's state for display and checks.</summary>
public sealed record RaftStatus(
    ulong Id,
    ulong Term,
    ulong Vote,
    ulong Lead,
    StateRole Role,
    ulong Commit,
    ulong Applied,
    ulong LastIndex,
    ConfState ConfState,
    IReadOnlyDictionary<ulong, PeerProgress> Progress);

/// <summary>What a leader knows of a follower: how far it has replicated.</summary>
public sealed record PeerProgress(ulong Match, ulong Next, bool RecentActive, bool Paused, bool IsLearner);
