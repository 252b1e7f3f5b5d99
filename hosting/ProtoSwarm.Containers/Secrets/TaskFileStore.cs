using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using ProtoSwarm.Containers.Runtime;
using ProtoSwarm.Containers.Secrets.Interop;

namespace ProtoSwarm.Containers.Secrets;

/// <summary>One file a container gets from a secret or a config: where in the container, the bytes, owner and mode.</summary>
public sealed record ContainerFile(string Target, byte[] Data, uint Uid, uint Gid, int Mode);

/// <summary>Writing a task's secret and config files failed; the message says where and why.</summary>
public sealed class TaskFileException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The node's secret and config files: ROOT/&lt;task id&gt;/&lt;n&gt;, one directory per task, on a
/// tmpfs (mounted on ROOT, mode 0700, when ROOT is not on one already), so the bytes live in memory
/// and never reach a disk. Each file gets its owner and mode, and is bound read-only at its target in
/// the task's container. The tmpfs outlives the node host, so a container reattached after a restart
/// keeps its files; a task's directory goes with its container (<see cref="Remove"/>, <see cref="RetainOnly"/>).
/// </summary>
public sealed partial class TaskFileStore(string root)
{
    private readonly Lock _lock = new();

    public string Root { get; } = Path.GetFullPath(root);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex TaskIdPattern();

    /// <summary>
    /// Writes the task's files afresh (what an earlier prepare left is replaced) and returns the
    /// container's read-only bind mounts of them. No files: nothing is written, no mount is made.
    /// </summary>
    public IReadOnlyList<ContainerMount> Write(string taskId, IReadOnlyList<ContainerFile> files)
    {
        if (files.Count == 0)
        {
            return [];
        }

        var dir = TaskDirectory(taskId);
        lock (_lock)
        {
            EnsureTmpfs();
            RemoveTree(dir);
            Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var mounts = new List<ContainerMount>(files.Count);
            for (var i = 0; i < files.Count; i++)
            {
                var file = files[i];
                var path = Path.Combine(dir, i.ToString(System.Globalization.CultureInfo.InvariantCulture));
                try
                {
                    // Created unreadable to others; the owner and then the mode come once the bytes are in.
                    using (var stream = new FileStream(path, new FileStreamOptions
                    {
                        Mode = FileMode.CreateNew,
                        Access = FileAccess.Write,
                        UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                    }))
                    {
                        stream.Write(file.Data);
                    }

                    if (FileSystemCalls.Chown(path, file.Uid, file.Gid) < 0)
                    {
                        throw new TaskFileException($"chown {file.Uid}:{file.Gid} {path}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
                    }

                    File.SetUnixFileMode(path, (UnixFileMode)file.Mode);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    RemoveTree(dir);
                    throw new TaskFileException($"writing the file for {file.Target} under {dir} failed: {e.Message}", e);
                }
                catch (TaskFileException)
                {
                    RemoveTree(dir);
                    throw;
                }

                mounts.Add(ContainerMount.Bind(path, file.Target, readOnly: true));
            }

            return mounts;
        }
    }

    /// <summary>Whether the task has files here.</summary>
    public bool Has(string taskId) => Directory.Exists(TaskDirectory(taskId));

    /// <summary>Deletes the task's files; none: nothing to do.</summary>
    public void Remove(string taskId)
    {
        var dir = TaskDirectory(taskId);
        lock (_lock)
        {
            RemoveTree(dir);
        }
    }

    /// <summary>Deletes the files of every task not named: those whose containers went while the node host was down.</summary>
    public void RetainOnly(IReadOnlySet<string> taskIds)
    {
        lock (_lock)
        {
            if (!Directory.Exists(Root))
            {
                return;
            }

            foreach (var dir in Directory.EnumerateDirectories(Root))
            {
                if (!taskIds.Contains(Path.GetFileName(dir)))
                {
                    RemoveTree(dir);
                }
            }
        }
    }

    /// <summary>Unmounts the tmpfs this store put on its root (tests, and a node that leaves for good); the files go with it.</summary>
    public void Unmount()
    {
        lock (_lock)
        {
            if (FileSystemCalls.Umount2(Root, FileSystemCalls.MNT_DETACH) < 0 && Marshal.GetLastPInvokeError() is not (22 /* EINVAL: not a mount */ or 2 /* ENOENT */))
            {
                throw new TaskFileException($"umount {Root}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
            }
        }
    }

    /// <summary>Whether the root is on a tmpfs (true once <see cref="Write"/> made it one).</summary>
    public bool OnTmpfs => Directory.Exists(Root) && FileSystemCalls.FileSystemType(Root) == FileSystemCalls.TMPFS_MAGIC;

    private void EnsureTmpfs()
    {
        Directory.CreateDirectory(Root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        if (FileSystemCalls.FileSystemType(Root) == FileSystemCalls.TMPFS_MAGIC)
        {
            return;
        }

        if (FileSystemCalls.Mount("tmpfs", Root, "tmpfs", FileSystemCalls.MS_NOSUID | FileSystemCalls.MS_NODEV | FileSystemCalls.MS_NOEXEC, "mode=700") < 0)
        {
            var error = Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError());
            throw new TaskFileException(
                $"mounting a tmpfs on {Root} for secrets and configs failed ({error}); they are never written to disk, so the node host must run as root (or mount a tmpfs there itself)");
        }
    }

    private string TaskDirectory(string taskId) => TaskIdPattern().IsMatch(taskId)
        ? Path.Combine(Root, taskId)
        : throw new TaskFileException($"task id \"{taskId}\" cannot name a directory");

    private static void RemoveTree(string dir)
    {
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
