using System.Text.Json.Serialization;

namespace ProtoSwarm.ContainerInit;

// What `protoswarm-init --exec` needs to run one more process in a running container; written by the
// node host next to the container's config.json (ProtoSwarm.Containers compiles this same file). The
// confinement is not repeated here: init takes it from the container's own config, so an exec'd process
// can never be given more than the container has.
internal sealed class ExecConfig
{
    /// <summary>The container's PID 1 as the node host sees it.</summary>
    public int Pid { get; set; }

    /// <summary>The container's config.json (host path): cgroups, env, user, rlimits, capabilities, seccomp.</summary>
    public string ContainerConfig { get; set; } = "";

    public string[] Args { get; set; } = [];

    /// <summary>"KEY=value" entries that override the container's.</summary>
    public string[] Env { get; set; } = [];

    /// <summary>Null runs as the container's user.</summary>
    public string? User { get; set; }

    /// <summary>Null runs in the container's working directory.</summary>
    public string? WorkingDir { get; set; }

    /// <summary>Stdin is a terminal the node host opened (docker exec -t): the command gets a session of its
    /// own with it as the controlling terminal, so ^C and window sizes reach it.</summary>
    public bool Tty { get; set; }

    /// <summary>docker exec -d: the command does not depend on the node host. Init keeps it running when its
    /// status socket closes (a host that stopped or restarted); it still ends with its container, whose
    /// pid namespace it is in.</summary>
    public bool Detached { get; set; }

    /// <summary>The container's config with this exec's command, env, user and directory in place: the
    /// same rlimits, groups, capabilities, no_new_privs, seccomp program and SELinux label.</summary>
    public InitConfig ApplyTo(InitConfig container)
    {
        var env = new List<string>(container.Env);
        foreach (var entry in Env)
        {
            var key = entry.Split('=', 2)[0] + "=";
            env.RemoveAll(e => e.StartsWith(key, StringComparison.Ordinal) || e == key[..^1]);
            if (entry.Contains('=', StringComparison.Ordinal))
            {
                env.Add(entry); // a bare KEY unsets KEY, as docker's daemon merges an exec's env
            }
        }
        return new InitConfig
        {
            Id = container.Id,
            Args = Args,
            Env = [.. env],
            WorkingDir = WorkingDir ?? container.WorkingDir,
            Hostname = container.Hostname,
            CgroupProcs = container.CgroupProcs,
            User = User ?? container.User,
            AdditionalGids = container.AdditionalGids,
            Capabilities = container.Capabilities,
            NoNewPrivileges = container.NoNewPrivileges,
            Seccomp = container.Seccomp,
            ProcessLabel = container.ProcessLabel,
            Rlimits = container.Rlimits,
        };
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ExecConfig))]
internal sealed partial class ExecConfigJson : JsonSerializerContext;

// The lines `protoswarm-init --exec` writes on fd 3 (when the host gave it one), the one command it
// reads there, and its exit codes when the command never ran (docker's: 126 cannot run, 127 not found).
internal static class ExecProtocol
{
    public const string Started = "started";   // "started <host pid>": the command was exec'd
    public const string Failed = "failed";     // "failed <exit code> <message>": it never ran
    public const string Exit = "exit";         // "exit <wait status>": it ended
    public const string Kill = "kill";         // host -> init: "kill <signal>", to its process group

    public const int NotEntered = 125;         // the container is not running, or could not be joined
    public const int CannotRun = 126;
    public const int NotFound = 127;

    /// <summary>The exit code for a failure reported by the exec stage that would have exec'd the command.</summary>
    public static int ExitCodeFor(string message) =>
        message.StartsWith("exec:", StringComparison.Ordinal)
        && (message.Contains("not found", StringComparison.Ordinal) || message.EndsWith("no such file or directory", StringComparison.Ordinal))
            ? NotFound
            : CannotRun;
}
