using System.Text;
using ProtoSwarm.Actors.Agent.Tasks;
using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Runtime;

namespace ProtoSwarm.Tests.Hosting;

/// <summary>A task's secrets and configs as its container gets them: paths, owners and modes, before any file is written.</summary>
public sealed class TaskContainerFilesTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("tc-files-").FullName;
    private readonly string[] _layers;

    public TaskContainerFilesTests()
    {
        Directory.CreateDirectory(Path.Combine(_root, "low", "etc"));
        Directory.CreateDirectory(Path.Combine(_root, "high", "etc"));
        File.WriteAllText(Path.Combine(_root, "low", "etc", "passwd"), "app:x:500:500::/:/bin/sh\n");
        File.WriteAllText(Path.Combine(_root, "high", "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n");
        File.WriteAllText(Path.Combine(_root, "high", "etc", "group"), "root:x:0:\nstaff:x:2000:app\n");
        _layers = [Path.Combine(_root, "low"), Path.Combine(_root, "high")];
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void A_Secret_Goes_To_Run_Secrets_And_A_Config_To_Its_Absolute_Target_With_Dockers_Default_Owner_And_Mode()
    {
        var files = TaskContainers.Files(
        [
            Secret("db_password", new FileTarget("db_password")),
            Config("app_conf", new FileTarget("/etc/app/app.conf")),
            Config("relative", new FileTarget("motd")),
        ], _layers);

        Assert.Equal(
            [
                ("/run/secrets/db_password", 0u, 0u, 0x124),
                ("/etc/app/app.conf", 0u, 0u, 0x124),
                ("/motd", 0u, 0u, 0x124),
            ],
            files.Select(f => (f.Target, f.Uid, f.Gid, f.Mode)));
        Assert.Equal("data of db_password", Encoding.UTF8.GetString(files[0].Data));
    }

    [Fact]
    public void Owners_Are_Numbers_Or_Names_From_The_Images_Topmost_Passwd_And_Group()
    {
        var files = TaskContainers.Files(
        [
            Secret("numeric", new FileTarget("numeric", "33", "44", 0x100 /* 0400 */)),
            Secret("named", new FileTarget("named", "app", "staff", 0x120 /* 0440 */)),
        ], _layers);

        Assert.Equal([(33u, 44u, 0x100), (1000u, 2000u, 0x120)], files.Select(f => (f.Uid, f.Gid, f.Mode)));
    }

    [Theory]
    [InlineData("nobody", "0", 0x124, "secret s: uid 'nobody' is not in the image's /etc/passwd; give its number instead")]
    [InlineData("0", "wheel", 0x124, "secret s: gid 'wheel' is not in the image's /etc/group; give its number instead")]
    [InlineData("0", "0", 0x9ED /* 04755 */, "secret s: mode 4755 is not a file permission; give one from 0 to 0777")]
    public void A_Bad_Owner_Or_Mode_Refuses_The_Task_With_The_Fix(string uid, string gid, int mode, string expected)
    {
        var refused = Assert.Throws<InvalidOperationException>(() => TaskContainers.Files([Secret("s", new FileTarget("s", uid, gid, mode))], _layers));

        Assert.StartsWith(expected, refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("../../etc/shadow")]
    [InlineData("")]
    [InlineData("dir/")]
    public void A_Target_That_Is_Not_A_File_Name_Is_Refused(string name)
    {
        var refused = Assert.Throws<InvalidOperationException>(() => TaskContainers.Files([Secret("s", new FileTarget(name))], _layers));

        Assert.Contains("is not a file name", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void No_Files_Read_Nothing()
    {
        Assert.Empty(TaskContainers.Files([], ["/nonexistent"]));
    }

    private static TaskFile Secret(string name, FileTarget target) =>
        new(TaskFileKind.Secret, "id-" + name, name, target, Encoding.UTF8.GetBytes("data of " + name));

    private static TaskFile Config(string name, FileTarget target) =>
        new(TaskFileKind.Config, "id-" + name, name, target, Encoding.UTF8.GetBytes("data of " + name));
}
