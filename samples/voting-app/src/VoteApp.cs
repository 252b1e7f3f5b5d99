using System.Net;
using System.Security.Cryptography;
using System.Text.Json;

namespace VotingApp;

/// <summary>
/// The voting page: GET / shows two options; POST / (a browser's form) or POST /api/vote (a script's,
/// answered in JSON) pushes {voter_id, vote, ts} to the redis list `votes` and answers only once redis
/// acknowledged it. The voter is the `voter_id` cookie, made up on a first visit; a `voter_id` form field
/// or query parameter overrides it, so a script can cast many distinct votes.
/// </summary>
public static class VoteApp
{
    private const string Cookie = "voter_id";
    private static readonly TimeSpan RedisTimeout = TimeSpan.FromSeconds(5);

    public static async Task<int> RunAsync(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.WebHost.UseUrls($"http://0.0.0.0:{Settings.Port}");
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        await using var redis = new RedisConnection(Settings.RedisHost, Settings.RedisPort);
        var app = builder.Build();
        var log = app.Logger;

        app.MapGet("/", (HttpContext context) => Page(context, VoterOf(context, null), null));
        app.MapPost("/", (HttpContext context) => CastAsync(context, redis, log, json: WantsJson(context)));
        app.MapPost("/api/vote", (HttpContext context) => CastAsync(context, redis, log, json: true));
        app.MapGet("/healthz", () => "ok");
        await app.RunAsync();
        return 0;
    }

    private static bool WantsJson(HttpContext context) =>
        context.Request.Headers.Accept.Any(a => a is not null && a.Contains("application/json", StringComparison.OrdinalIgnoreCase));

    private static async Task CastAsync(HttpContext context, RedisConnection redis, ILogger log, bool json)
    {
        var form = context.Request.HasFormContentType ? await context.Request.ReadFormAsync(context.RequestAborted) : null;
        string? Field(string name) =>
            form?[name].FirstOrDefault() is { Length: > 0 } fromForm ? fromForm
            : context.Request.Query[name].FirstOrDefault() is { Length: > 0 } fromQuery ? fromQuery
            : null;

        var vote = NormaliseVote(Field("vote"));
        if (vote is null)
        {
            await Fail(context, json, HttpStatusCode.BadRequest, $"vote must be a or b ({Settings.OptionA} or {Settings.OptionB}), given '{Field("vote")}'");
            return;
        }

        var voter = VoterOf(context, Field("voter_id"));
        var item = JsonSerializer.Serialize(new VoteItem(voter, vote, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()), AppJson.Default.VoteItem);
        try
        {
            // RPUSH answers with the list's length once redis holds the item: only then is the vote acknowledged.
            await redis.CommandAsync(RedisTimeout, context.RequestAborted, "RPUSH", "votes", item);
        }
        catch (Exception e) when (e is RedisUnavailableException or RedisErrorException)
        {
            log.LogWarning("Vote of {VoterId} not queued: {Reason}", voter, e.Message);
            await Fail(context, json, HttpStatusCode.ServiceUnavailable, $"the vote was not recorded: {e.Message}; try again");
            return;
        }

        if (json)
        {
            await context.Response.WriteAsJsonAsync(new VoteReceipt(voter, vote, Settings.OptionName(vote), Settings.Hostname), AppJson.Default.VoteReceipt, cancellationToken: context.RequestAborted);
            return;
        }

        await Page(context, voter, vote);
    }

    private static string? NormaliseVote(string? given) => given?.Trim() switch
    {
        null => null,
        var v when v.Equals("a", StringComparison.OrdinalIgnoreCase) || v.Equals(Settings.OptionA, StringComparison.OrdinalIgnoreCase) => "a",
        var v when v.Equals("b", StringComparison.OrdinalIgnoreCase) || v.Equals(Settings.OptionB, StringComparison.OrdinalIgnoreCase) => "b",
        _ => null,
    };

    /// <summary>The voter id given, else the cookie's, else a new random one; the cookie is (re)set to it.</summary>
    private static string VoterOf(HttpContext context, string? given)
    {
        var voter = given ?? context.Request.Cookies[Cookie] ?? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        context.Response.Cookies.Append(Cookie, voter, new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Lax, Path = "/" });
        return voter;
    }

    private static async Task Fail(HttpContext context, bool json, HttpStatusCode status, string message)
    {
        context.Response.StatusCode = (int)status;
        if (json)
        {
            await context.Response.WriteAsJsonAsync(new ErrorReply(message), AppJson.Default.ErrorReply, cancellationToken: context.RequestAborted);
        }
        else
        {
            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.WriteAsync(message + "\n", context.RequestAborted);
        }
    }

    private static Task Page(HttpContext context, string voter, string? voted)
    {
        var a = WebUtility.HtmlEncode(Settings.OptionA);
        var b = WebUtility.HtmlEncode(Settings.OptionB);
        var host = WebUtility.HtmlEncode(Settings.Hostname);
        var said = voted is null ? "" : $"<p class=\"voted\">Your vote for <b>{WebUtility.HtmlEncode(Settings.OptionName(voted))}</b> is in; vote again to change it.</p>";
        context.Response.ContentType = "text/html; charset=utf-8";
        return context.Response.WriteAsync($$"""
            <!DOCTYPE html>
            <html><head><meta charset="utf-8"><title>{{a}} vs {{b}}</title>
            <style>
              body { font-family: sans-serif; text-align: center; margin-top: 3em; background: #f4f4f4; }
              button { font-size: 1.6em; width: 9em; margin: 0.5em; padding: 0.6em; border: 0; border-radius: 6px; color: #fff; cursor: pointer; }
              .a { background: #1aaaf8; } .b { background: #00cbca; }
              .voted { color: #333; } footer { color: #888; margin-top: 3em; font-size: 0.9em; }
            </style></head>
            <body>
              <h1>{{a}} vs {{b}}!</h1>
              <form method="post" action="/">
                <button class="a" name="vote" value="a">{{a}}</button>
                <button class="b" name="vote" value="b">{{b}}</button>
              </form>
              {{said}}
              <footer>Processed by container {{host}} &middot; voter {{WebUtility.HtmlEncode(voter)}}</footer>
            </body></html>
            """, context.RequestAborted);
    }
}
