using Proto;

namespace ProtoSwarm.Hosting.Runtime;

/// <summary>
/// How long a node's actor may take over <c>Started</c> before Proto.Actor warns. Its default, 100 ms, then
/// "your system might suffer from incorrect design, please consider reaching out to
/// https://proto.actor/docs/training/", is a developer's hint that a node's operator can do nothing with:
/// while a node starts, every actor's first message is the first run of its code, and on a lab's loaded
/// two-core machine the agent, dispatcher, scheduler and allocator took 106 to 308 ms each (2026-12-05),
/// one warning per actor per node start. A second is still a sign of a real stall, so it keeps the warning.
/// </summary>
public static class ActorStartDeadline
{
    /// <summary>The least start deadline a node's actor gets.</summary>
    public static readonly TimeSpan Minimum = TimeSpan.FromSeconds(1);

    /// <summary>
    /// <paramref name="props"/> with a start deadline of at least <see cref="Minimum"/> (the actor system's
    /// <c>ConfigureProps</c>, applied at every spawn); a deadline switched off (zero) stays off, and a longer
    /// one stays as it is.
    /// </summary>
    public static Props Raise(Props props) =>
        props.StartDeadline > TimeSpan.Zero && props.StartDeadline < Minimum ? props.WithStartDeadline(Minimum) : props;
}
