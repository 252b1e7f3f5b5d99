using System.CommandLine;
using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using ProtoSwarm.Actors.Agent.Tasks;
using ProtoSwarm.Cli;
using ProtoSwarm.Cli.Control;
using ProtoSwarm.Cli.Terminal;
using ProtoSwarm.Client.Control;
using ProtoSwarm.Containers.Images;
using ProtoSwarm.Contracts;
using ProtoSwarm.Hosting.Control;
using ProtoSwarm.Hosting.Runtime;

namespace ProtoSwarm.Tests.Containers.Runtime;

// `protoswarm exec -i / -t / -d` end to end, as root: a busybox task run by the Linux executor, the node's
// control socket in front of it (the real ControlServer and LocalExec), and the client's side as the CLI
// has it: ExecStreamClient, the CLI's command in-process, and the protoswarm binary on a terminal of the test's.
[Collection(ContainerCollection.Name)]
[Trait("Category", "Privileged")]
public sealed class ExecStreamTests(ContainerFixture fixture) : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("protoswarm-exec-stream-").FullName;
    private readonly string _taskId = "s" + Guid.NewGuid().ToString("N")[..24];
    private ImageStore _images = null!;
    private LinuxExecutor _executor = null!;
    private ITaskController _controller = null!;
    private ControlServer _server = null!;

    private string Socket => Path.Combine(_dir, "control.sock");

    public async Task InitializeAsync()
    {
        (_images, _executor) = await fixture.BusyboxExecutorAsync(_dir, "busybox:stream");
        var task = new TaskObject(
            _taskId, ObjectMeta.New(DateTimeOffset.UtcNow), "svc", 1, "node",
            new TaskSpec(new ContainerSpec("busybox:stream", Command: ["sleep", "1000"])), 1, TaskState.Running,
            new TaskObservedStatus(TaskState.Assigned, DateTimeOffset.UtcNow));
        _controller = _executor.CreateController(task);
        await _controller.PrepareAsync(default);
        await _controller.StartAsync(default);
        _server = new ControlServer(Socket,
            (request, ct) => request is ExecInTask exec ? LocalExec.HandleAsync(_executor, exec, ct) : Task.FromResult<object>(new CommandRejected(RejectCode.InvalidArgument, "exec only")),
            NullLogger<ControlServer>.Instance,
            async (request, connection, ct) =>
            {
                if (request is not ExecInTask { Streams: true } exec)
                {
                    return false;
                }

                await LocalExec.StreamAsync(_executor, exec, connection, ct);
                return true;
            });
        _server.Start();
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _controller.RemoveAsync(default);
        _images.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private ExecInTask Request(bool interactive, bool tty, params string[] command) =>
        new("r1", _taskId[..10], [.. command], [], null, null, TimeSpan.FromSeconds(60), interactive, tty);

    // The client's side as the CLI runs it, with the given input and output streams.
    private async Task<(int ExitCode, bool TimedOut)> ExecAsync(ExecInTask request, Stream? input, Stream stdout, Stream stderr)
    {
        var (started, connection) = await new ControlClient(Socket).OpenStreamAsync<ExecStarted>(request, TimeSpan.FromSeconds(20));
        Assert.Equal(_taskId, started.TaskId);
        await using (connection)
        {
            using var client = new ExecStreamClient(connection);
            if (input is not null)
            {
                _ = client.SendInputAsync(input);
            }

            return await client.ReceiveOutputAsync(stdout, stderr, default).WaitAsync(TimeSpan.FromSeconds(60));
        }
    }

    private async Task<string> PsAsync()
    {
        var reply = await new ControlClient(Socket).RequestAsync<ExecCompleted>(Request(false, false, "ps", "-o", "pid,args"), TimeSpan.FromSeconds(20));
        return reply.Stdout;
    }

    [Fact]
    public async Task Piped_Stdin_Reaches_Cat_And_Its_Eof_Ends_It()
    {
        using var stdout = new MemoryStream();
        using var stderr = new MemoryStream();

        var (code, _) = await ExecAsync(Request(true, false, "cat"), new MemoryStream("hi\nthere\n"u8.ToArray()), stdout, stderr);

        Assert.Equal(0, code);
        Assert.Equal("hi\nthere\n", Encoding.UTF8.GetString(stdout.ToArray()));
        Assert.Empty(stderr.ToArray());
    }

    [Fact]
    public async Task A_MiB_Streamed_Into_Wc_Is_Counted_Exactly_And_Echoed_Back_Whole()
    {
        var mib = new byte[1024 * 1024];
        new Random(42).NextBytes(mib);
        using var counted = new MemoryStream();
        using var echoed = new MemoryStream();

        var (wc, _) = await ExecAsync(Request(true, false, "wc", "-c"), new MemoryStream(mib), counted, Stream.Null);
        var (cat, _) = await ExecAsync(Request(true, false, "cat"), new MemoryStream(mib), echoed, Stream.Null);

        Assert.Equal((0, "1048576"), (wc, Encoding.ASCII.GetString(counted.ToArray()).Trim()));
        Assert.Equal(0, cat);
        Assert.True(mib.AsSpan().SequenceEqual(echoed.ToArray()), $"cat gave back {echoed.Length} bytes, not the MiB sent");
    }

    [Fact]
    public async Task A_Client_That_Does_Not_Read_Blocks_The_Command_Instead_Of_Filling_Memory()
    {
        // 100 MB of output while nobody reads the connection: the node may hold only a frame and the socket
        // buffers, so the command is still blocked seconds later; once read, every byte arrives.
        var (_, connection) = await new ControlClient(Socket).OpenStreamAsync<ExecStarted>(Request(true, false, "sh", "-c", "yes | head -c 100000000"), TimeSpan.FromSeconds(20));
        await using (connection)
        {
            await Task.Delay(TimeSpan.FromSeconds(3));
            var during = await PsAsync();
            using var client = new ExecStreamClient(connection);
            var counted = new CountingStream();
            var (code, _) = await client.ReceiveOutputAsync(counted, Stream.Null, default).WaitAsync(TimeSpan.FromSeconds(60));

            Assert.Contains("head -c 100000000", during, StringComparison.Ordinal);
            Assert.Equal((0, 100_000_000L), (code, counted.Length));
        }
    }

    [Fact]
    public async Task Output_Streams_As_It_Is_Written_Not_At_The_End()
    {
        var stdout = new TimedStream();

        var (code, _) = await ExecAsync(Request(true, false, "sh", "-c", "echo first; sleep 3; echo second"), new MemoryStream(), stdout, Stream.Null);
        var ended = Stopwatch.GetTimestamp();

        Assert.Equal(0, code);
        Assert.Equal("first\nsecond\n", stdout.Text);
        Assert.True(Stopwatch.GetElapsedTime(stdout.FirstWrite!.Value, ended) > TimeSpan.FromSeconds(2),
            "the first line came only when the command ended");
    }

    [Fact]
    public async Task Exit_Codes_Pass_Through_And_A_Missing_Command_Is_127_With_Its_Reason()
    {
        using var missingErr = new MemoryStream();

        var (exited, _) = await ExecAsync(Request(true, false, "sh", "-c", "exit 42"), new MemoryStream(), Stream.Null, Stream.Null);
        var (signalled, _) = await ExecAsync(Request(false, true, "sh", "-c", "kill -9 $$"), null, Stream.Null, Stream.Null);
        var (missing, _) = await ExecAsync(Request(true, false, "no-such-command"), new MemoryStream(), Stream.Null, missingErr);

        Assert.Equal((42, 137, 127), (exited, signalled, missing));
        Assert.Contains("no-such-command", Encoding.UTF8.GetString(missingErr.ToArray()), StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_A_Tty_The_Command_Has_A_Pts_Terminal_Of_The_Size_Sent_And_Term_Xterm()
    {
        using var screen = new MemoryStream();
        var request = Request(false, true, "sh", "-c", "tty; stty size; echo $TERM; test -t 0 && test -t 2 && echo both") with { Rows = 33, Columns = 101 };

        var (code, _) = await ExecAsync(request, null, screen, Stream.Null);

        var lines = Encoding.UTF8.GetString(screen.ToArray()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(0, code);
        Assert.Matches("^/dev/pts/[0-9]+$", lines[0]);
        Assert.Equal(["33 101", "xterm", "both"], lines[1..]);
    }

    [Fact]
    public async Task A_Resize_Reaches_The_Terminal_And_Typed_Lines_Run_In_An_Interactive_Shell()
    {
        var request = Request(true, true, "sh") with { Rows = 24, Columns = 80, Env = ["PS1=$ "] };
        var (_, connection) = await new ControlClient(Socket).OpenStreamAsync<ExecStarted>(request, TimeSpan.FromSeconds(20));
        var screen = new TimedStream();
        await using (connection)
        {
            using var client = new ExecStreamClient(connection);
            var output = client.ReceiveOutputAsync(screen, Stream.Null, default);
            await client.ResizeAsync(50, 120);
            var keys = new BlockingPipe();
            _ = client.SendInputAsync(keys);
            keys.Write("stty size\r");
            Assert.True(await screen.ShowsAsync("50 120", TimeSpan.FromSeconds(20)), screen.Text);
            keys.Write("exit 3\r");
            var (code, _) = await output.WaitAsync(TimeSpan.FromSeconds(20));
            keys.End();

            Assert.Equal(3, code);
        }
    }

    [Fact]
    public async Task A_Client_That_Goes_Away_Has_The_Command_And_What_It_Started_Killed()
    {
        var (_, connection) = await new ControlClient(Socket).OpenStreamAsync<ExecStarted>(Request(true, false, "sh", "-c", "sleep 997 & sleep 998"), TimeSpan.FromSeconds(20));
        Assert.True(await ShowsAsync("sleep 998"), "the command never ran");

        await connection.DisposeAsync();

        Assert.True(await GoneAsync("sleep 998"), "the command outlived its client");
        Assert.True(await GoneAsync("sleep 997"), "the command's background child outlived its client");
        Assert.Contains("sleep 1000", await PsAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_Exec_It_Whose_Client_Typed_The_Detach_Keys_Keeps_Running_After_The_Client_Went_And_Its_Output_Is_Drained()
    {
        // 1.5 MB on its terminal before it sleeps: more than a terminal holds, so only output read and dropped lets it get there.
        var (_, connection) = await new ControlClient(Socket).OpenStreamAsync<ExecStarted>(
            Request(true, true, "sh", "-c", "i=0; while [ $i -lt 100000 ]; do echo tick-tick-tick; i=$((i+1)); done; exec sleep 995"), TimeSpan.FromSeconds(20));
        using var keys = new DetachKeys(new MemoryStream("x\u0018q"u8.ToArray()), DetachKeys.Parse("ctrl-x,q").Keys);
        await using (connection)
        {
            using var client = new ExecStreamClient(connection);
            await client.SendInputAsync(keys, () => keys.Detached).WaitAsync(TimeSpan.FromSeconds(20));
        }

        Assert.True(keys.Detached);
        Assert.True(await ShowsAsync("sleep 995"), "the detached command did not go on to its end");
        await Task.Delay(1000);
        Assert.Contains("sleep 995", await PsAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Detached_Exec_Answers_At_Once_And_Keeps_Running()
    {
        var started = Stopwatch.StartNew();
        var reply = await new ControlClient(Socket).RequestAsync<ExecStarted>(Request(false, false, "sh", "-c", "echo noise; sleep 996") with { Detach = true }, TimeSpan.FromSeconds(20));

        Assert.Equal(_taskId, reply.TaskId);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(10));
        Assert.True(await ShowsAsync("sleep 996"), "the detached command is not running");
    }

    [Fact]
    public async Task The_Cli_Pipes_Its_Stdin_Through_Exec_I_And_Exits_With_The_Commands_Code()
    {
        using var stdout = new MemoryStream();
        using var stderr = new MemoryStream();
        var console = new ExecConsole(() => new MemoryStream("hi\n"u8.ToArray()), () => stdout, () => stderr, () => false);
        var root = new CliApp(_ => new ControlSocketConnection(Socket)) { ExecConsole = console }.CreateRoot();
        using var output = new StringWriter();
        using var error = new StringWriter();
        var config = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false };

        var cat = await CliApp.RunAsync(root, ["exec", "-i", _taskId[..8], "sh", "-c", "cat; echo bye >&2; exit 4"], config);
        var notTty = await CliApp.RunAsync(root, ["exec", "-it", _taskId[..8], "sh"], config);

        Assert.Equal(4, cat);
        Assert.Equal(("hi\n", "bye\n"), (Encoding.UTF8.GetString(stdout.ToArray()), Encoding.UTF8.GetString(stderr.ToArray())));
        Assert.Equal(1, notTty);
        Assert.Equal("the input device is not a TTY\n", error.ToString());
    }

    [Fact]
    public async Task A_Plain_Exec_From_The_Cli_Streams_Its_Output_As_It_Comes_With_No_Stdin()
    {
        var stdout = new WatchedStream();
        using var stderr = new MemoryStream();
        var console = new ExecConsole(() => throw new InvalidOperationException("a plain exec reads no stdin"), () => stdout, () => stderr, () => false);
        var root = new CliApp(_ => new ControlSocketConnection(Socket)) { ExecConsole = console }.CreateRoot();
        var config = new InvocationConfiguration { Output = TextWriter.Null, Error = TextWriter.Null, EnableDefaultExceptionHandler = false };
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var run = CliApp.RunAsync(root, ["exec", _taskId[..8], "sh", "-c", "echo first; sleep 3; echo second >&2; cat; exit 6"], config);
        await stdout.FirstWrite.WaitAsync(TimeSpan.FromSeconds(20));
        var firstAt = clock.Elapsed;
        var code = await run;

        Assert.Equal(6, code);
        Assert.True(clock.Elapsed - firstAt > TimeSpan.FromSeconds(2), $"first line at {firstAt}, end at {clock.Elapsed}: not streamed");
        Assert.Equal(("first\n", "second\n"), (Encoding.UTF8.GetString(stdout.ToArray()), Encoding.UTF8.GetString(stderr.ToArray())));
    }

    /// <summary>Output that says when its first bytes arrived.</summary>
    private sealed class WatchedStream : MemoryStream
    {
        private readonly TaskCompletionSource _first = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task FirstWrite => _first.Task;

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            base.Write(buffer);
            _first.TrySetResult();
        }

        public override void Write(byte[] buffer, int offset, int count)
        {
            base.Write(buffer, offset, count);
            _first.TrySetResult();
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            base.Write(buffer.Span);
            _first.TrySetResult();
            return ValueTask.CompletedTask;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Write(buffer, offset, count);
            return Task.CompletedTask;
        }
    }

    [Fact]
    public async Task The_Cli_On_A_Terminal_Goes_Raw_Sends_Its_Size_And_Resizes_Relays_Ctrl_C_To_The_Command_And_Restores_The_Terminal()
    {
        using var pty = new TestPty(40, 90);
        var before = pty.Settings();
        var cli = Path.Combine(AppContext.BaseDirectory, "protoswarm");
        var pid = pty.Start(cli, ["exec", "-it", "-e", "PS1=$ ", _taskId[..8], "sh"],
            new Dictionary<string, string> { [ControlClient.SocketEnvironmentVariable] = Socket });
        try
        {
            Assert.True(await pty.ShowsAsync("$ ", TimeSpan.FromSeconds(30)), pty.Screen);
            var raw = pty.Settings();
            pty.Type("stty size; tty\r");
            Assert.True(await pty.ShowsAsync("40 90", TimeSpan.FromSeconds(20)), pty.Screen);
            Assert.True(await pty.ShowsAsync("/dev/pts/", TimeSpan.FromSeconds(20)), pty.Screen);
            pty.Resize(50, 132);
            await Task.Delay(500);
            pty.Type("stty size\r");
            Assert.True(await pty.ShowsAsync("50 132", TimeSpan.FromSeconds(20)), pty.Screen);
            pty.Type("sleep 77\r");
            Assert.True(await ShowsAsync("sleep 77"), pty.Screen);
            pty.Type("\x03");
            Assert.True(await GoneAsync("sleep 77"), "^C did not reach the command");
            pty.Type("echo after-$?\r");
            Assert.True(await pty.ShowsAsync("after-130", TimeSpan.FromSeconds(20)), pty.Screen);
            pty.Type("exit 5\r");
            var exit = await TestPty.WaitAsync(pid, TimeSpan.FromSeconds(20));

            Assert.Equal(5, exit);
            Assert.NotEqual(before, raw);
            Assert.Equal(before, pty.Settings());
        }
        finally
        {
            TestPty.Kill(pid);
            _ = await TestPty.WaitAsync(pid, TimeSpan.FromSeconds(5));
        }
    }

    private async Task<bool> ShowsAsync(string args) => await PollAsync(async () => (await PsAsync()).Contains(args, StringComparison.Ordinal));

    private async Task<bool> GoneAsync(string args) => await PollAsync(async () => !(await PsAsync()).Contains(args, StringComparison.Ordinal));

    private static async Task<bool> PollAsync(Func<Task<bool>> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(15))
        {
            if (await condition())
            {
                return true;
            }

            await Task.Delay(200);
        }

        return false;
    }

    // Counts what is written and keeps nothing.
    private sealed class CountingStream : Stream
    {
        private long _length;

        public override long Length => _length;
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Position { get => _length; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => _length += count;
    }

    // Output kept with the time its first bytes came.
    private sealed class TimedStream : MemoryStream
    {
        public long? FirstWrite { get; private set; }

        public string Text
        {
            get
            {
                lock (this)
                {
                    return Encoding.UTF8.GetString(ToArray());
                }
            }
        }

        public override void Write(byte[] buffer, int offset, int count)
        {
            lock (this)
            {
                FirstWrite ??= Stopwatch.GetTimestamp();
                base.Write(buffer, offset, count);
            }
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Write(buffer, offset, count);
            return Task.CompletedTask;
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Write(buffer.ToArray(), 0, buffer.Length);
            return ValueTask.CompletedTask;
        }

        public async Task<bool> ShowsAsync(string text, TimeSpan timeout)
        {
            var deadline = Stopwatch.StartNew();
            while (!Text.Contains(text, StringComparison.Ordinal))
            {
                if (deadline.Elapsed > timeout)
                {
                    return false;
                }

                await Task.Delay(50);
            }

            return true;
        }
    }

    // Keys typed when the test says, as a terminal gives them: a read blocks until there are some.
    private sealed class BlockingPipe : Stream
    {
        private readonly System.Collections.Concurrent.BlockingCollection<byte[]> _chunks = [];

        public void Write(string keys) => _chunks.Add(Encoding.UTF8.GetBytes(keys));

        public void End() => _chunks.CompleteAdding();

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (!_chunks.TryTake(out var chunk, Timeout.Infinite))
            {
                return 0;
            }

            chunk.CopyTo(buffer, offset);
            return chunk.Length;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _chunks.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
