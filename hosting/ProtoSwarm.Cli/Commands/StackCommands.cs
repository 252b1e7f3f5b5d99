using System.Collections;
using System.Collections.Immutable;
using System.CommandLine;
using System.Globalization;
using System.Text.RegularExpressions;
using ProtoSwarm.Cli.Compose;
using ProtoSwarm.Cli.Output;
using ProtoSwarm.Client;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Cli.Commands;

/// <summary>
/// `protoswarm stack deploy|ls|services|ps|rm`: a compose file's services and networks, named
/// &lt;stack&gt;_&lt;name&gt; and labelled with docker's namespace label, which is all a stack is on the swarm.
/// </summary>
internal static partial class StackCommands
{
    public static Command Create(CliApp app) =>
        new Command("stack", "Manage swarm stacks").With(Config(app), Deploy(app), List(app), Tasks(app), Remove(app), Services(app));

    /// <summary>
    /// Why a stack name cannot be used, or null. Docker only refuses an empty one, but the name prefixes
    /// every service and network name, so it is held to what those names take here.
    /// </summary>
    public static string? CheckStackName(string name)
    {
        if (StackNamePattern().IsMatch(name))
        {
            return null;
        }

        var suggestion = Regex.Replace(name.Trim().ToLowerInvariant(), "[^a-z0-9_-]+", "-", RegexOptions.None, TimeSpan.FromSeconds(1)).Trim('-', '_');
        return $"invalid stack name '{name}': use lowercase letters, digits, '_' and '-', starting with a letter or digit (it prefixes the services' and networks' names)"
            + (suggestion.Length > 0 ? $"; for example '{suggestion}'." : ".");
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]*$")]
    private static partial Regex StackNamePattern();

    private static Argument<string> StackArgument() =>
        new Argument<string>("STACK") { Description = "The stack's name" }.CheckedBy(CheckStackName);

    /// <summary>
    /// docker's `stack config`: the files loaded, merged, interpolated and checked as `stack deploy`
    /// does, then the result printed as YAML (<see cref="ComposeConfig"/>). Nothing is sent to a node,
    /// so it works with no node host.
    /// </summary>
    private static Command Config(CliApp app)
    {
        var files = ComposeFilesOption();
        var skip = new Option<bool>("--skip-interpolation") { Description = "Skip interpolation and output only merged config" };
        var command = new Command("config", "Outputs the final config file, after doing merges and interpolations").With(files, skip);
        app.SetAction(command, async (parse, cli, ct) =>
        {
            // The stack's name only prefixes what deploy would create; the printed config never shows it.
            var result = await LoadAsync(app, cli, parse.GetRequiredValue(files), "stack", interpolate: !parse.GetValue(skip));
            if (result is null)
            {
                return 1;
            }

            await cli.Out.WriteAsync(ComposeConfig.Render(result.Config!, result.Version, result.BaseDirectory, result.Variables));
            return 0;
        });
        return command;
    }

    private static Option<string[]> ComposeFilesOption() => new("--compose-file", "-c")
    {
        Description = "Path to a Compose file, or \"-\" to read from stdin; give -c again for more files, merged in order",
        Required = true,
        AllowMultipleArgumentsPerToken = false,
    };

    /// <summary>The files loaded as `stack deploy` reads them, their warnings on stderr; null, with the
    /// errors on stderr, when they are not valid.</summary>
    private static async Task<ComposeResult?> LoadAsync(CliApp app, CliContext cli, string[] files, string stack, bool interpolate = true)
    {
        var result = ComposeLoader.Load(files, stack, EnvironmentVariables(), interpolate, () =>
        {
            using var input = new StreamReader(app.StandardInput(), leaveOpen: true);
            return input.ReadToEnd();
        });
        foreach (var warning in result.Warnings)
        {
            await cli.Error.WriteLineAsync(warning);
        }

        if (result.IsValid)
        {
            return result;
        }

        foreach (var error in result.Errors)
        {
            await cli.Error.WriteLineAsync(error.ToString());
        }

        return null;
    }

    private static Command Deploy(CliApp app)
    {
        var files = ComposeFilesOption();
        var prune = new Option<bool>("--prune") { Description = "Prune services that are no longer referenced" };
        var resolveImage = new Option<string>("--resolve-image")
        {
            Description = "Pin each image to the digest the swarm's registry holds for its tag (\"always\"|\"changed\"|\"never\"); always also updates a service whose tag moved",
            DefaultValueFactory = _ => ResolveImageModes.Always,
        }.CheckedBy(v => ResolveImageModes.IsValid(v) ? null : $"Invalid option {v} for flag --resolve-image; use always, changed or never.");
        // docker's default since its --detach came (CLI 26): deploy and return; --detach=false waits with service create's progress.
        var detach = new Option<bool>("--detach", "-d")
        {
            Description = "Exit immediately instead of waiting for the stack's services to converge (--detach=false waits)",
            DefaultValueFactory = _ => true,
        };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Suppress progress output" };
        var registryAuth = new Option<bool>("--with-registry-auth")
        {
            Description = "Accepted for docker's scripts, and has no effect: nodes pull from the swarm's own registry with their node certificates",
        };
        var stack = StackArgument();
        var command = new Command("deploy", "Deploy a new stack or update an existing stack").With(files, prune, resolveImage, detach, quiet, registryAuth, stack);
        command.Aliases.Add("up");
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var name = parse.GetRequiredValue(stack);
            var result = await LoadAsync(app, cli, parse.GetRequiredValue(files), name);
            if (result is null)
            {
                return 1;
            }

            var model = result.Stack!;
            var deployment = new StackDeployment(cli, model, parse.GetValue(resolveImage) ?? ResolveImageModes.Always);
            var status = await deployment.RunAsync(parse.GetValue(prune), ct);
            if (status != 0)
            {
                return status;
            }

            if (!parse.GetValue(detach))
            {
                foreach (var (serviceName, id) in deployment.Deployed)
                {
                    if (!parse.GetValue(quiet))
                    {
                        await cli.Out.WriteLineAsync($"Waiting for service {serviceName} to converge");
                    }

                    var waited = await ServiceCommands.WaitAsync(app, cli, id, parse.GetValue(quiet), rollbackRequested: false, ct);
                    if (waited == 130)
                    {
                        return waited;
                    }

                    status = Math.Max(status, waited);
                }
            }

            await cli.Out.WriteLineAsync(deployment.Summary(detached: parse.GetValue(detach)));
            if (model.Services.IsEmpty)
            {
                // docker deploys such a file without a word; say what did and did not happen.
                await cli.Error.WriteLineAsync(
                    $"Note: the file defines no services, so nothing runs in stack {name}: only its secrets and configs are created, " +
                    "networks only for the services that use them, and `stack ls` lists a stack by its services.");
            }

            return status;
        });
        return command;
    }

    private static Command List(CliApp app)
    {
        var format = new Option<string?>("--format")
        {
            Description = "Format output: table (default), json, or a Go template such as '{{.Name}}\\t{{.Services}}'",
        }.CheckedBy(v => ListingFormat.Check(v, StackView.Columns.Keys.ToList()));
        var command = new Command("ls", "List stacks").With(format);
        command.Aliases.Add("list");
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var listing = ListingFormat.Parse(parse.GetValue(format), quiet: false, StackView.Columns.Keys.ToList(), out _)!;
            var rows = StackView.Rows((await cli.Swarm.Services.ListAsync(ct)).Select(s => s.Service.Spec.Labels));
            await cli.Out.WriteAsync(listing.Render([.. rows.Select(StackView.ToJson)], () => StackView.Table(rows), StackView.Columns, "Name"));
            return 0;
        });
        return command;
    }

    private static Command Services(CliApp app) =>
        ServiceCommands.ServiceListCommand(app, "services", "List the services in the stack", StackArgument());

    private static Command Tasks(CliApp app) =>
        ServiceCommands.TaskListCommand(app, "List the tasks in the stack", StackArgument(), async (name, cli, ct) =>
        {
            var ids = (await StackServicesAsync(cli, name, ct)).Select(s => s.Id).ToList();
            // No refs would ask for every task of the swarm; docker says nothing was found and fails.
            var tasks = ids.Count == 0 ? null : await cli.Swarm.Services.TasksAsync(ids, ct: ct);
            return tasks is { Tasks.IsEmpty: false }
                ? tasks
                : throw new SwarmCommandException(RejectCode.NotFound, NothingFound(name));
        }, NothingFound);

    private static string NothingFound(string stack) => $"nothing found in stack: {stack}";

    private static Command Remove(CliApp app)
    {
        var stacks = new Argument<string[]>("STACK") { Description = "The stacks to remove", Arity = ArgumentArity.OneOrMore }.CheckedBy(CheckStackName);
        // docker's (CLI 26): return once the removals are sent; --detach=false waits until their tasks have stopped.
        var detach = new Option<bool>("--detach", "-d")
        {
            Description = "Do not wait for stack removal (--detach=false waits until the removed services' tasks have stopped)",
            DefaultValueFactory = _ => true,
        };
        var command = new Command("rm", "Remove one or more stacks").With(detach, stacks);
        command.Aliases.Add("remove");
        command.Aliases.Add("down");
        app.SetAction(command, async (parse, cli, ct) =>
        {
            var failed = new List<string>();
            var waitFailed = false;
            foreach (var name in parse.GetRequiredValue(stacks))
            {
                var services = (await StackServicesAsync(cli, name, ct)).OrderBy(s => s.Spec.Name, StringComparer.Ordinal).ToList();
                var networks = (await cli.Swarm.Networks.ListAsync(ct)).Where(n => StackView.InStack(n.Spec.Labels, name))
                    .OrderBy(n => n.Spec.Name, StringComparer.Ordinal).ToList();
                var secrets = (await cli.Swarm.Secrets.ListAsync(ct)).Where(s => StackView.InStack(s.Labels, name)).OrderBy(s => s.Name, StringComparer.Ordinal).ToList();
                var configs = (await cli.Swarm.Configs.ListAsync(ct)).Where(c => StackView.InStack(c.Labels, name)).OrderBy(c => c.Name, StringComparer.Ordinal).ToList();
                if (services.Count + networks.Count + secrets.Count + configs.Count == 0)
                {
                    await cli.Error.WriteLineAsync(StackView.NothingFound(name));
                    continue;
                }

                // docker's order: services, secrets, configs, networks; a secret or config goes once no service uses it.
                var removed = await RemoveServicesAsync(cli, services, ct);
                var ok = removed.Count == services.Count;
                foreach (var secret in secrets)
                {
                    await cli.Out.WriteLineAsync($"Removing secret {secret.Name}");
                    ok &= await TryAsync(cli, $"Failed to remove secret {secret.Id}", () => cli.Swarm.Secrets.RemoveAsync(secret.Id, ct));
                }

                foreach (var config in configs)
                {
                    await cli.Out.WriteLineAsync($"Removing config {config.Name}");
                    ok &= await TryAsync(cli, $"Failed to remove config {config.Id}", () => cli.Swarm.Configs.RemoveAsync(config.Id, ct));
                }

                foreach (var network in networks)
                {
                    await cli.Out.WriteLineAsync($"Removing network {network.Spec.Name}");
                    ok &= await TryAsync(cli, $"Failed to remove network {network.Id}", () => RemoveNetworkAsync(app, cli, network, name, services.Select(s => s.Id).ToHashSet(StringComparer.Ordinal), ct));
                }

                if (!ok)
                {
                    failed.Add(name);
                }

                if (!parse.GetValue(detach) && removed.Count > 0 && await TasksStillStoppingAsync(app, cli, removed, ct) is { } stragglers)
                {
                    // docker's words for a wait that failed; its wait has no end, ours gives up and says on what.
                    await cli.Error.WriteLineAsync($"Failed to wait on tasks of stack: {name}: {stragglers}");
                    waitFailed = true;
                }
            }

            foreach (var name in failed)
            {
                await cli.Error.WriteLineAsync($"Error: failed to remove some resources from stack: {name}");
            }

            return failed.Count == 0 && !waitFailed ? 0 : 1;
        });
        return command;
    }

    /// <summary>
    /// Waits until no task of the removed services is left running: the managers keep such a task, desired
    /// Remove, until its node reports it ended, then delete it (one never assigned, or on a node that is down,
    /// goes at once). The service itself is gone, so the tasks are asked for by the services' whole ids, which the
    /// managers take unresolved (a service ref would be refused as unknown). Null once all have stopped; otherwise, at the
    /// deadline (the longest stop grace period among them, docker's 10 s when unset, plus
    /// <see cref="CliApp.TaskStopAllowance"/>), which tasks still run, where, and what to do.
    /// </summary>
    private static async Task<string?> TasksStillStoppingAsync(CliApp app, CliContext cli, IReadOnlyList<ServiceObject> services, CancellationToken ct)
    {
        var names = services.ToDictionary(s => s.Id, s => s.Spec.Name, StringComparer.Ordinal);
        var grace = services.Max(s => s.Spec.TaskTemplate.Container.StopGracePeriod ?? TimeSpan.FromSeconds(10));
        var waited = grace + app.TaskStopAllowance;
        var deadline = DateTimeOffset.UtcNow + waited;
        while (true)
        {
            var list = await cli.Swarm.Services.TasksOfServiceIdsAsync(names.Keys, ct);
            var left = list.Tasks.Where(t => names.ContainsKey(t.ServiceId) && t.Status.State <= TaskState.Running).ToList();
            if (left.Count == 0)
            {
                return null;
            }

            if (DateTimeOffset.UtcNow >= deadline)
            {
                var shown = left.OrderBy(t => names[t.ServiceId], StringComparer.Ordinal).ThenBy(t => t.Slot).Take(5)
                    .Select(t => $"{names[t.ServiceId]}.{(t.Slot > 0 ? t.Slot.ToString(System.Globalization.CultureInfo.InvariantCulture) : t.NodeId)} ({t.Status.State.ToString().ToLowerInvariant()} on {list.NodeNames.GetValueOrDefault(t.NodeId, t.NodeId)})");
                return $"{left.Count} task(s) of the removed services had not stopped after {GoDuration.Format(waited)}: {string.Join(", ", shown)}{(left.Count > 5 ? ", ..." : "")}; " +
                    "a node that is down or cannot reach the managers reports nothing; see `protoswarm node ps NODE` and `protoswarm node ls`";
            }

            await Task.Delay(app.WaitTiming.PollInterval, ct);
        }
    }

    /// <summary>Docker's order and words: by name, "Removing service X"; a failure is said and the rest still go. The services removed.</summary>
    internal static async Task<IReadOnlyList<ServiceObject>> RemoveServicesAsync(CliContext cli, IEnumerable<ServiceObject> services, CancellationToken ct)
    {
        var removed = new List<ServiceObject>();
        foreach (var service in services)
        {
            await cli.Out.WriteLineAsync($"Removing service {service.Spec.Name}");
            if (await TryAsync(cli, $"Failed to remove service {service.Id}", () => cli.Swarm.Services.RemoveAsync(service.Id, ct)))
            {
                removed.Add(service);
            }
        }

        return removed;
    }

    /// <summary>
    /// The services just removed leave their tasks stopping, and a network is refused while a task
    /// still holds an address on it; docker leaves that to the user, here the removal is retried for a while.
    /// A refusal while a service other than the <paramref name="removed"/> ones (one outside the stack) is attached
    /// is final: waiting would not release it, so it is said at once, naming the service, and the rest of the
    /// stack still goes. A removed one still listed (a manager that has not applied the removal yet) is waited for.
    /// </summary>
    private static async Task RemoveNetworkAsync(CliApp app, CliContext cli, NetworkObject network, string stack, HashSet<string> removed, CancellationToken ct)
    {
        var deadline = DateTimeOffset.UtcNow + app.NetworkReleaseTimeout;
        while (true)
        {
            try
            {
                await cli.Swarm.Networks.RemoveAsync(network.Id, ct);
                return;
            }
            catch (SwarmCommandException e) when (e.Code == RejectCode.Conflict && DateTimeOffset.UtcNow < deadline)
            {
                var users = (await cli.Swarm.Services.ListAsync(ct)).Select(s => s.Service).Where(s => !removed.Contains(s.Id) && Uses(s, network)).Select(s => s.Spec.Name)
                    .Order(StringComparer.Ordinal).ToList();
                if (users.Count > 0)
                {
                    throw new SwarmCommandException(RejectCode.Conflict, NetworkInUse(network.Spec.Name, users, stack));
                }

                await Task.Delay(app.WaitTiming.PollInterval, ct);
            }
        }
    }

    private static bool Uses(ServiceObject service, NetworkObject network) =>
        service.Spec.TaskTemplate.Networks.Any(a => a.Target == network.Id || a.Target == network.Spec.Name);

    /// <summary>docker's "network X is in use by service Y", with what to do about it.</summary>
    internal static string NetworkInUse(string network, IReadOnlyList<string> services, string stack) =>
        $"network {network} is in use by service{(services.Count == 1 ? "" : "s")} {string.Join(", ", services)}, which {(services.Count == 1 ? "was" : "were")} not removed; " +
        $"remove {(services.Count == 1 ? "it" : "them")} or detach {(services.Count == 1 ? "it" : "them")} (`protoswarm service update --network-rm {network} SERVICE`), then run `protoswarm stack rm {stack}` again";

    private static async Task<bool> TryAsync(CliContext cli, string failure, Func<Task> action)
    {
        try
        {
            await action();
            return true;
        }
        catch (SwarmCommandException e) when (e.Code != RejectCode.Unavailable)
        {
            await cli.Error.WriteLineAsync($"{failure}: {e.Message}");
            return false;
        }
    }

    internal static async Task<List<ServiceObject>> StackServicesAsync(CliContext cli, string stack, CancellationToken ct) =>
        [.. (await cli.Swarm.Services.ListAsync(ct)).Select(s => s.Service).Where(s => StackView.InStack(s.Spec.Labels, stack))];

    private static Dictionary<string, string> EnvironmentVariables()
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            variables[(string)entry.Key] = entry.Value as string ?? string.Empty;
        }

        return variables;
    }
}

/// <summary>
/// One `stack deploy` against the swarm, in docker's order: external networks checked, services no
/// longer in the file pruned (when asked), missing networks created, then each service created, or
/// updated when its spec differs from the stored one, or (--resolve-image always) when its tag now
/// resolves to another digest in the swarm's registry. An unchanged service is left alone, so a redeploy
/// of the same file and images changes nothing and keeps every service's previous spec for a rollback.
/// </summary>
internal sealed class StackDeployment(CliContext cli, StackModel stack, string resolveImage)
{
    private int _created;
    private int _updated;
    private int _unchanged;
    private int _pruned;
    private int _networksCreated;
    private readonly Dictionary<string, int> _fileObjectsCreated = new(StringComparer.Ordinal);

    /// <summary>Each service of the stack as deployed (name, id), in name order, for the wait.</summary>
    public List<(string Name, string Id)> Deployed { get; } = [];

    public async Task<int> RunAsync(bool prune, CancellationToken ct)
    {
        var networks = (await cli.Swarm.Networks.ListAsync(ct)).ToList();
        // An external network named host or none is that network mode (docker's way to put a stack's service on host), one named
        // bridge each node's bridge: no swarm network stands for them.
        var missing = stack.Networks.Where(n => n.External && !PredefinedNetworks.IsLocal(n.Name) && !networks.Any(x => x.Spec.Name == n.Name || x.Id == n.Name)).ToList();
        foreach (var network in missing)
        {
            await cli.Error.WriteLineAsync(
                $"Error: network \"{network.Name}\" is declared as external, but could not be found. You need to create a swarm-scoped network before the stack is deployed");
        }

        var secrets = stack.Secrets.IsEmpty ? [] : (await cli.Swarm.Secrets.ListAsync(ct)).ToDictionary(s => s.Name, s => s.Id, StringComparer.Ordinal);
        var configs = stack.Configs.IsEmpty ? [] : (await cli.Swarm.Configs.ListAsync(ct)).ToDictionary(c => c.Name, c => c.Id, StringComparer.Ordinal);
        var missingObjects = stack.Secrets.Where(s => s.External && !Exists(secrets, s.Name)).Select(s => ("secret", s.Name))
            .Concat(stack.Configs.Where(c => c.External && !Exists(configs, c.Name)).Select(c => ("config", c.Name))).ToList();
        foreach (var (kind, name) in missingObjects)
        {
            await cli.Error.WriteLineAsync(
                $"Error: {kind} \"{name}\" is declared as external, but could not be found. Create it first (`protoswarm {kind} create {name} FILE`), or leave external: out to have the stack create it from a file");
        }

        if (missing.Count + missingObjects.Count > 0)
        {
            return 1;
        }

        var existing = await StackCommands.StackServicesAsync(cli, stack.Name, ct);
        var ok = true;
        if (prune)
        {
            var gone = existing.Where(s => !stack.Services.Any(w => w.Spec.Name == s.Spec.Name)).OrderBy(s => s.Spec.Name, StringComparer.Ordinal).ToList();
            ok = (await StackCommands.RemoveServicesAsync(cli, gone, ct)).Count == gone.Count;
            _pruned = gone.Count;
        }

        var networkIds = networks.ToDictionary(n => n.Spec.Name, n => n.Id, StringComparer.Ordinal);
        foreach (var network in stack.Networks.Where(n => !n.External && !networkIds.ContainsKey(n.Name)).OrderBy(n => n.Name, StringComparer.Ordinal))
        {
            await cli.Out.WriteLineAsync($"Creating network {network.Name}");
            networkIds[network.Name] = await Failing($"failed to create network {network.Name}", () => cli.Swarm.Networks.CreateAsync(network.Spec!, ct));
            _networksCreated++;
        }

        await CreateFileObjectsAsync("secret", stack.Secrets, secrets, (spec, data) => cli.Swarm.Secrets.CreateAsync(new SecretSpec(spec.Name, spec.Labels, data) { Templating = spec.Templating }, reuseIfSame: true, ct), ct);
        await CreateFileObjectsAsync("config", stack.Configs, configs, (spec, data) => cli.Swarm.Configs.CreateAsync(new ConfigSpec(spec.Name, spec.Labels, data) { Templating = spec.Templating }, reuseIfSame: true, ct), ct);
        var ids = new StackIds(networkIds, secrets, configs);
        var tags = await RegistryTagsAsync(existing, ct);
        foreach (var service in stack.Services.OrderBy(s => s.Spec.Name, StringComparer.Ordinal))
        {
            var name = service.Spec.Name;
            if (existing.FirstOrDefault(s => s.Spec.Name == name) is not { } current)
            {
                await cli.Out.WriteLineAsync($"Creating service {name}");
                var created = await Failing($"failed to create service {name}", () => cli.Swarm.Services.CreateAsync(service.Spec, resolveImage, ct));
                await ServiceCommands.PrintWarnings(cli, created.Warnings);
                Deployed.Add((name, created.ServiceId));
                _created++;
                continue;
            }

            Deployed.Add((name, current.Id));
            if (Unchanged(service.Spec, current.Spec, ids, Repinned(service.Spec, current.Spec, tags)))
            {
                _unchanged++;
                continue;
            }

            await cli.Out.WriteLineAsync($"Updating service {name} (id: {current.Id})");
            var updated = await Failing($"failed to update service {name}",
                () => ServiceCommands.ChangeAsync(cli, current, current.Id, read => ForUpdate(service.Spec, read.Spec), UpdateMode(service.Spec, current.Spec), ct));
            await ServiceCommands.PrintWarnings(cli, updated.Warnings);
            _updated++;
        }

        return ok ? 0 : 1;
    }

    /// <summary>
    /// With --resolve-image always, the swarm registry's tags (repository path -> tag -> digest) when some
    /// service of the file names the image it named at the last deploy: its tag may have moved since
    /// (an `image push` of a rebuilt image), which docker's redeploy picks up. Otherwise null: changed and
    /// never keep the pin of an image the file did not change, as docker's stack deploy does.
    /// </summary>
    private async Task<IReadOnlyDictionary<string, ImmutableSortedDictionary<string, string>>?> RegistryTagsAsync(
        List<ServiceObject> existing, CancellationToken ct)
    {
        if (resolveImage != ResolveImageModes.Always
            || !stack.Services.Any(s => existing.FirstOrDefault(e => e.Spec.Name == s.Spec.Name) is { } current && SameFileImage(s.Spec, current.Spec)))
        {
            return null;
        }

        var repositories = await Failing("failed to read the swarm registry's tags to resolve the images", () => cli.Swarm.Registry.ListAsync(ct));
        return repositories.ToDictionary(r => r.Name, r => r.Tags, StringComparer.Ordinal);
    }

    /// <summary>
    /// The image the managers would pin now for a service whose file names the same image as before
    /// (NAME:TAG@digest of the tag in the swarm's registry), or null when nothing is to be re-resolved:
    /// not resolving, a changed file image (updated anyway), a reference by digest, or a tag the registry
    /// does not hold (the pin is kept rather than dropped).
    /// </summary>
    public static string? Repinned(ServiceSpec desired, ServiceSpec current, IReadOnlyDictionary<string, ImmutableSortedDictionary<string, string>>? tags)
    {
        var image = desired.TaskTemplate.Container.Image;
        if (tags is null || !SameFileImage(desired, current) || image.Contains('@', StringComparison.Ordinal)
            || !ImageReference.TryParse(image, out var reference, out _))
        {
            return null;
        }

        return tags.TryGetValue(reference.Path, out var repository) && repository.TryGetValue(reference.Tag, out var digest) && ImageReference.IsDigest(digest)
            ? reference.WithDigest(digest).Pinned
            : null;
    }

    /// <summary>
    /// The stack's own secrets or configs (not external), each from its file, before the services that
    /// use them: a new one is created; one of the same name and data is kept; other data is refused by
    /// the managers as docker refuses it (a secret never changes), which ends the deploy.
    /// </summary>
    private async Task CreateFileObjectsAsync(
        string kind, IEnumerable<StackFileObject> declared, Dictionary<string, string> ids, Func<StackFileObject, byte[], Task<string>> create, CancellationToken ct)
    {
        foreach (var obj in declared.Where(o => !o.External).OrderBy(o => o.Name, StringComparer.Ordinal))
        {
            byte[] data;
            try
            {
                data = await File.ReadAllBytesAsync(obj.File!, ct);
            }
            catch (IOException e)
            {
                throw new SwarmCommandException(RejectCode.InvalidArgument, $"failed to read the file of {kind} {obj.Name} ({obj.File}): {e.Message}");
            }

            var existed = ids.ContainsKey(obj.Name);
            if (!existed)
            {
                await cli.Out.WriteLineAsync($"Creating {kind} {obj.Name}");
            }

            ids[obj.Name] = await Failing($"failed to {(existed ? "update" : "create")} {kind} {obj.Name}", () => create(obj, data));
            if (!existed)
            {
                _fileObjectsCreated[kind] = _fileObjectsCreated.GetValueOrDefault(kind) + 1;
            }
        }
    }

    private static bool Exists(Dictionary<string, string> ids, string nameOrId) => ids.ContainsKey(nameOrId) || ids.ContainsValue(nameOrId);

    public string Summary(bool detached)
    {
        var parts = new List<string>
        {
            Count(_created, "service", "created"),
            Count(_updated, "service", "updated"),
            Count(_unchanged, "service", "unchanged"),
        };
        if (_pruned > 0)
        {
            parts.Add(Count(_pruned, "service", "pruned"));
        }

        parts.Add(Count(_networksCreated, "network", "created"));
        foreach (var (kind, count) in _fileObjectsCreated.OrderBy(k => k.Key, StringComparer.Ordinal))
        {
            parts.Add(Count(count, kind, "created"));
        }

        var line = $"Stack {stack.Name}: {string.Join(", ", parts)}.";
        // A file of secrets and configs alone has no service to wait for.
        return detached && _created + _updated + _unchanged > 0 ? $"{line} Not waiting for the services; see `protoswarm stack ps {stack.Name}`." : line;
    }

    /// <summary>
    /// The spec to send for a service that exists: as the file says, with its --force count kept (a stack
    /// has no --force) and, unless the image is to be resolved always, the pinned image kept while
    /// the file names the same image as at the last deploy (docker's com.docker.stack.image label).
    /// </summary>
    public ServiceSpec ForUpdate(ServiceSpec desired, ServiceSpec current) =>
        WithTemplate(desired, current, keepImage: resolveImage != ResolveImageModes.Always && SameFileImage(desired, current), ids: null);

    /// <summary>
    /// The `--resolve-image` mode a service's update is sent with: `changed` is `always` when the file's image
    /// differs from the one it named at the last deploy (docker's CLI then asks the registry), so the managers
    /// resolve the file's image even when it names the NAME:TAG of the stored pin (`app:1.0@sha256:...` edited
    /// back to `app:1.0`), where their own `changed` rule would keep the old digest.
    /// </summary>
    public string UpdateMode(ServiceSpec desired, ServiceSpec current) =>
        resolveImage == ResolveImageModes.Changed && !SameFileImage(desired, current) ? ResolveImageModes.Always : resolveImage;

    /// <summary>
    /// Whether the stored spec already is what the file asks: compared as the managers store it, with
    /// network names as their ids and the image as pinned when the file names the image it named before,
    /// unless <paramref name="repinned"/> (see <see cref="Repinned"/>) says its tag now resolves to another digest.
    /// </summary>
    public static bool Unchanged(ServiceSpec desired, ServiceSpec current, StackIds ids, string? repinned = null) =>
        (repinned is null || repinned == current.TaskTemplate.Container.Image)
        && SpecEquality.Same(current, WithTemplate(desired, current, keepImage: SameFileImage(desired, current), ids));

    private static bool SameFileImage(ServiceSpec desired, ServiceSpec current) =>
        current.Labels.TryGetValue(StackModel.ImageLabel, out var before) && desired.Labels.TryGetValue(StackModel.ImageLabel, out var now) && before == now;

    private static ServiceSpec WithTemplate(ServiceSpec desired, ServiceSpec current, bool keepImage, StackIds? ids)
    {
        var template = desired.TaskTemplate with
        {
            ForceUpdate = current.TaskTemplate.ForceUpdate,
            Container = keepImage ? desired.TaskTemplate.Container with { Image = current.TaskTemplate.Container.Image } : desired.TaskTemplate.Container,
        };
        if (ids is not null)
        {
            var container = template.Container;
            template = template with
            {
                Networks = [.. template.Networks.Select(n => ids.Networks.TryGetValue(n.Target, out var id) ? n with { Target = id } : n)],
                Container = container with
                {
                    Secrets = [.. container.Secrets.Select(r => ids.Secrets.TryGetValue(r.SecretName, out var id) ? r with { SecretId = id } : r)],
                    Configs = [.. container.Configs.Select(r => ids.Configs.TryGetValue(r.ConfigName, out var id) ? r with { ConfigId = id } : r)],
                },
            };
        }

        return desired with { TaskTemplate = template };
    }

    private static string Count(int count, string noun, string verb) =>
        string.Create(CultureInfo.InvariantCulture, $"{count} {noun}{(count == 1 ? "" : "s")} {verb}");

    /// <summary>Docker's "failed to create service X: reason" for a refusal in the middle of a deploy.</summary>
    private static async Task<T> Failing<T>(string what, Func<Task<T>> action)
    {
        try
        {
            return await action();
        }
        catch (SwarmCommandException e) when (e.Code != RejectCode.Unavailable)
        {
            throw new SwarmCommandException(e.Code, $"{what}: {e.Message}");
        }
    }
}

/// <summary>The ids the managers store in place of the names a stack's services use: networks, secrets and configs by name.</summary>
internal sealed record StackIds(
    IReadOnlyDictionary<string, string> Networks,
    IReadOnlyDictionary<string, string> Secrets,
    IReadOnlyDictionary<string, string> Configs);
