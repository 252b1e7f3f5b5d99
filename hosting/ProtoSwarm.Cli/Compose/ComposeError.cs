namespace ProtoSwarm.Cli.Compose;

/// <summary>
/// One thing wrong in a compose file: where (file:line:column), which key (the path from the top,
/// "services.vote.deploy.replicas", list items as "ports[0]"), and what to do about it.
/// </summary>
internal sealed record ComposeError(SourceMark Mark, string Path, string Message)
{
    public override string ToString() => Path.Length == 0 ? $"{Mark}: {Message}" : $"{Mark}: {Path}: {Message}";
}
