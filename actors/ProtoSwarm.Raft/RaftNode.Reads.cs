namespace ProtoSwarm.Raft;

public sealed partial class RaftNode
{
    /// <summary>
    /// A read request at the leader (its own or a follower's): remember the commit index, then ask
    /// every follower to confirm our leadership with a heartbeat carrying the request's context.
    /// </summary>
    private void LeaderReadIndex(Message m)
    {
        if (m.Context is not { Length: > 0 })
        {
            return;
        }

        if (_tracker.IsSingleton && _tracker.IsVoter(Id))
        {
            RespondToRead(m, _log.Committed);
            return;
        }

        if (!CommittedEntryInCurrentTerm)
        {
            // Our commit index may lag the previous leader's until an entry of our term commits.
            _pendingReadIndex.Add(m);
            return;
        }

        StartRead(m);
    }

    private void StartRead(Message m)
    {
        _readOnly.Add(_log.Committed, m);
        _readOnly.RecordAck(Id, m.Context!);
        BroadcastHeartbeat(m.Context);
    }

    private void ReleasePendingReadIndex()
    {
        if (_pendingReadIndex.Count == 0 || !CommittedEntryInCurrentTerm)
        {
            return;
        }

        var pending = _pendingReadIndex.ToList();
        _pendingReadIndex.Clear();
        foreach (var m in pending)
        {
            if (_tracker.IsSingleton && _tracker.IsVoter(Id))
            {
                RespondToRead(m, _log.Committed);
            }
            else
            {
                StartRead(m);
            }
        }
    }

    private void ConfirmRead(ulong from, byte[] context)
    {
        var acks = _readOnly.RecordAck(from, context);
        if (acks is null || !_tracker.HasQuorum(acks))
        {
            return;
        }

        foreach (var read in _readOnly.Advance(context))
        {
            RespondToRead(read.Request, read.Index);
        }
    }

    private void RespondToRead(Message request, ulong index)
    {
        if (request.From == 0 || request.From == Id)
        {
            _readStates.Add(new ReadState(index, request.Context!));
        }
        else
        {
            Send(NewMessage(MessageType.ReadIndexResponse, request.From) with { Index = index, Context = request.Context });
        }
    }
}
