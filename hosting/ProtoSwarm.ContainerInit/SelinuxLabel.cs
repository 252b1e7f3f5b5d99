namespace ProtoSwarm.ContainerInit;

// A container's SELinux labels, where the host enforces SELinux: the node host chooses them (docker's
// container_t process and container_file_t files, with an MCS category pair of the container's own), init
// applies them. ProtoSwarm.Containers compiles this same file, so both sides format mount data alike.
internal static class SelinuxLabel
{
    /// <summary>Where a thread asks for the label its next execve gives (setexeccon); the kernel clears it at that execve.</summary>
    public const string ExecAttribute = "/proc/thread-self/attr/exec";

    /// <summary>The xattr that holds a file's label, for a file system that takes no context= option.</summary>
    public const string Xattr = "security.selinux";

    /// <summary>Mount data with the file label as the context= option, which labels every file of the
    /// mount; the data as it was without a label (SELinux off: the kernel would refuse the option).</summary>
    public static string? MountData(string? data, string? mountLabel) =>
        mountLabel is null ? data
        : string.IsNullOrEmpty(data) ? $"context=\"{mountLabel}\""
        : $"{data},context=\"{mountLabel}\"";
}
