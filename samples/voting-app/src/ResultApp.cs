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

    private static async Task ResultsAsync(HttpContext context, NpgsqlDataSource db, ILogger log)
    {
        long a = 0, b = 0;
        try
        {
            await using var command = db.CreateCommand("SELECT vote, count(*) FROM votes GROUP BY vote");
            await using var reader = await command.ExecuteReaderAsync(context.RequestAborted);
            while (await reader.ReadAsync(context.RequestAborted))
            {
                var count = reader.GetInt64(1);
                switch (reader.GetString(0))
                {
                    case "a": a = count; break;
                    case "b": b = count; break;
                }
            }
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
