using VotingApp;

// One binary, three programs (and the probe their health checks run): the image's entrypoint picks one.
return args.FirstOrDefault() switch
{
    "vote" => await VoteApp.RunAsync(args[1..]),
    "worker" => await Worker.RunAsync(),
    "result" => await ResultApp.RunAsync(args[1..]),
    "probe" => await Probe.RunAsync(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: voting vote|worker|result|probe [PORT]");
    Console.Error.WriteLine("  vote    the voting page on PORT (80): POST / or /api/vote pushes the vote to redis");
    Console.Error.WriteLine("  worker  moves votes from redis into PostgreSQL");
    Console.Error.WriteLine("  result  the results page on PORT (80) and GET /api/results");
    Console.Error.WriteLine("  probe   exits 0 when GET http://127.0.0.1:PORT/healthz answers 200 (the images' health check)");
    return 2;
}
