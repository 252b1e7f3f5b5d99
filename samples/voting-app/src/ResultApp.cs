using System.Diagnostics;
using System.Net;
using Npgsql;

namespace VotingApp;

/// <summary>
/// The results page: GET / is a page whose script polls GET /api/results every second; that answers
/// each option's count and percentage and the total, read from PostgreSQL at each request.
/// </summary>
public static class ResultApp
{
    public static async Task<int> RunAsync(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.WebHost.UseUrls($"http://0.0.0.0:{Settings.Port}");
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        await using var db = NpgsqlDataSource.Create(Settings.PostgresConnectionString());
        var app = builder.Build();
        var log = app.Logger;

        app.MapGet("/", Page);
        app.MapGet("/api/results", (HttpContext context) => ResultsAsync(context, db, log));
        app.MapGet("/healthz", () => "ok");
        await app.RunAsync();
        return 0;
    }

    /// <summary>
    /// How long one request keeps trying a database that fails it for a reason that may pass: a pooled connection
    /// that db's restart broke (the first use of each answers with an I/O error, or PostgreSQL's "terminating
    /// connection due to administrator command"), or a db that is still starting. The real voting app's result
    /// keeps polling its database in the same way; the page's script asks every second, and curl's 5 s outlasts it.
    /// </summary>
    private static readonly TimeSpan RetryFor = TimeSpan.FromSeconds(4);

    private static async Task ResultsAsync(HttpContext context, NpgsqlDataSource db, ILogger log)
    {
        long a = 0, b = 0;
        try
        {
            (a, b) = await CountAsync(db, log, context.RequestAborted);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            // No worker has created the table yet: nothing was counted.
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            log.LogWarning("Results not read: {Reason}", e.Message);
            context.Response.StatusCode = (int)HttpStatusCode.ServiceUnavailable;
            await context.Response.WriteAsJsonAsync(new ErrorReply($"the database is not reachable: {e.Message}"), AppJson.Default.ErrorReply, cancellationToken: context.RequestAborted);
            return;
        }

        var total = a + b;
        double Percent(long n) => total == 0 ? 50 : Math.Round(100.0 * n / total, 1);
        var results = new Results(
            [new OptionCount("a", Settings.OptionA, a, Percent(a)), new OptionCount("b", Settings.OptionB, b, Percent(b))],
            total,
            Settings.Hostname);
        await context.Response.WriteAsJsonAsync(results, AppJson.Default.Results, cancellationToken: context.RequestAborted);
    }

    /// <summary>
    /// The count of each option, asked again on a fresh connection (the pool's idle ones dropped: they share the
    /// broken one's fate) while the database fails for a reason that may pass, for at most <see cref="RetryFor"/>.
    /// </summary>
    private static async Task<(long A, long B)> CountAsync(NpgsqlDataSource db, ILogger log, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var pause = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                long a = 0, b = 0;
                await using var command = db.CreateCommand("SELECT vote, count(*) FROM votes GROUP BY vote");
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    var count = reader.GetInt64(1);
                    switch (reader.GetString(0))
                    {
                        case "a": a = count; break;
                        case "b": b = count; break;
                    }
                }

                return (a, b);
            }
            catch (NpgsqlException e) when (MayPass(e) && clock.Elapsed + pause < RetryFor)
            {
                log.LogInformation("Results not read ({Reason}); asking the database again on a new connection", e.Message);
                db.Clear();
                await Task.Delay(pause, cancellationToken);
                pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, TimeSpan.FromSeconds(1).Ticks));
            }
        }
    }

    /// <summary>
    /// A failure that asking again may cure: Npgsql's transient ones (I/O errors, timeouts, a db still starting up:
    /// 57P03), and a connection the server ended as it stopped (57P01 admin shutdown, 57P02 crash shutdown).
    /// </summary>
    private static bool MayPass(NpgsqlException e) =>
        e.IsTransient || e is PostgresException { SqlState: PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.CannotConnectNow };

    private static Task Page(HttpContext context)
    {
        var a = WebUtility.HtmlEncode(Settings.OptionA);
        var b = WebUtility.HtmlEncode(Settings.OptionB);
        context.Response.ContentType = "text/html; charset=utf-8";
        return context.Response.WriteAsync($$"""
            <!DOCTYPE html>
            <html><head><meta charset="utf-8"><title>{{a}} vs {{b}}: results</title>
            <style>
              body { font-family: sans-serif; text-align: center; margin-top: 3em; background: #f4f4f4; }
              .row { display: flex; justify-content: center; gap: 4em; font-size: 1.6em; }
              .bar { display: flex; height: 2em; margin: 2em auto; width: 60%; border-radius: 6px; overflow: hidden; }
              #bar-a { background: #1aaaf8; } #bar-b { background: #00cbca; }
              footer { color: #888; margin-top: 3em; font-size: 0.9em; }
            </style></head>
            <body>
              <h1>{{a}} vs {{b}}</h1>
              <div class="row"><div>{{a}}: <b id="pct-a">50</b>%</div><div>{{b}}: <b id="pct-b">50</b>%</div></div>
              <div class="bar"><div id="bar-a" style="width:50%"></div><div id="bar-b" style="width:50%"></div></div>
              <p id="total">No votes yet</p>
              <footer id="status"></footer>
              <script>
                async function refresh() {
                  try {
                    const response = await fetch('/api/results', { cache: 'no-store' });
                    const r = await response.json();
                    if (!response.ok) throw new Error(r.error);
                    const [a, b] = r.options;
                    document.getElementById('pct-a').textContent = a.percent;
                    document.getElementById('pct-b').textContent = b.percent;
                    document.getElementById('bar-a').style.width = a.percent + '%';
                    document.getElementById('bar-b').style.width = b.percent + '%';
                    document.getElementById('total').textContent =
                      r.total === 0 ? 'No votes yet' : `${a.votes} + ${b.votes} = ${r.total} vote${r.total === 1 ? '' : 's'}`;
                    document.getElementById('status').textContent = 'Served by container ' + r.hostname;
                  } catch (e) {
                    document.getElementById('status').textContent = 'Waiting for the results: ' + e.message;
                  }
                }
                refresh();
                setInterval(refresh, 1000);
              </script>
            </body></html>
            """, context.RequestAborted);
    }
}
