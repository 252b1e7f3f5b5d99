using System.Globalization;

namespace ProtoSwarm.Client.Control;

/// <summary>
/// docker's restart policy of a standalone container (`run --restart no|on-failure[:N]|always|unless-stopped`): its name and,
/// for on-failure, the most restarts (0: no limit). <see cref="Parse"/> reads the flag as the CLI and the node both check it;
/// <see cref="Decide"/> is the node host's decision when the container ends, as moby's restart manager makes it.
/// </summary>
public sealed record ContainerRestartPolicy(string Name, int MaximumRetryCount = 0)
{
    public const string No = "no";
    public const string OnFailure = "on-failure";
    public const string Always = "always";
    public const string UnlessStopped = "unless-stopped";

    /// <summary>The first wait before a restart; it doubles each restart up to <see cref="MaxDelay"/>.</summary>
    public static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(100);

    public static readonly TimeSpan MaxDelay = TimeSpan.FromMinutes(1);

    /// <summary>A container that ran this long starts the back-off again from <see cref="FirstDelay"/>.</summary>
    public static readonly TimeSpan ResetAfter = TimeSpan.FromSeconds(10);

    public static readonly ContainerRestartPolicy None = new(No);

    public bool IsNone => Name == No;

    /// <summary>docker's text of the policy: "on-failure:3", "always".</summary>
    public override string ToString() => MaximumRetryCount > 0 ? string.Create(CultureInfo.InvariantCulture, $"{Name}:{MaximumRetryCount}") : Name;

    /// <summary>The policy <paramref name="text"/> names ("" is no), or docker's refusal of it.</summary>
    public static (ContainerRestartPolicy? Policy, string? Error) Parse(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return (None, null);
        }

        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var name = colon < 0 ? text : text[..colon];
        if (colon == 0)
        {
            return (null, "invalid restart policy format: no policy provided before colon");
        }

        var count = 0;
        if (colon >= 0 && colon < text.Length - 1
            && !int.TryParse(text.AsSpan(colon + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out count))
        {
            return (null, "invalid restart policy format: maximum retry count must be an integer");
        }

        if (name is not (No or OnFailure or Always or UnlessStopped))
        {
            return (null, $"invalid restart policy: unknown policy '{name}'; use one of '{No}', '{Always}', '{OnFailure}', or '{UnlessStopped}'");
        }

        if (count != 0 && name != OnFailure)
        {
            return (null, "invalid restart policy: maximum retry count can only be used with 'on-failure'");
        }

        return count < 0 ? (null, "invalid restart policy: maximum retry count cannot be negative") : (new ContainerRestartPolicy(name, count), null);
    }

    /// <summary>
    /// Whether a container that ended with <paramref name="exitCode"/> after running <paramref name="ran"/> restarts, and after
    /// how long: the wait doubles from <see cref="FirstDelay"/> (back to it after a run of <see cref="ResetAfter"/>), and
    /// <paramref name="restarts"/> counts the restarts made. <paramref name="stoppedByUser"/> (`stop`) keeps an unless-stopped
    /// one down; the live node host never restarts a stopped one (it cancels the policy), a node host that starts again does
    /// for always, as docker's daemon.
    /// </summary>
    public RestartDecision Decide(int exitCode, bool stoppedByUser, TimeSpan ran, RestartState state)
    {
        var delay = ran >= ResetAfter || state.Delay == TimeSpan.Zero ? FirstDelay : state.Delay * 2;
        if (delay > MaxDelay)
        {
            delay = MaxDelay;
        }

        var restart = Name switch
        {
            Always => true,
            UnlessStopped => !stoppedByUser,
            OnFailure => exitCode != 0 && (MaximumRetryCount == 0 || state.Restarts < MaximumRetryCount),
            _ => false,
        };
        return restart
            ? new RestartDecision(true, delay, new RestartState(state.Restarts + 1, delay))
            : new RestartDecision(false, TimeSpan.Zero, state with { Delay = delay });
    }
}

/// <summary>What a container's restarts have come to: how many were made, and the last wait (zero: none yet).</summary>
public sealed record RestartState(int Restarts, TimeSpan Delay)
{
    public static readonly RestartState Initial = new(0, TimeSpan.Zero);
}

/// <summary>Restart (after <paramref name="Delay"/>) or not, and the state after.</summary>
public sealed record RestartDecision(bool Restart, TimeSpan Delay, RestartState Next);
