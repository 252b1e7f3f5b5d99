using System.CommandLine;

namespace ProtoSwarm.Cli.Commands;

/// <summary>Attaches <see cref="ArgumentRules"/> to options and arguments, so the parser refuses bad values.</summary>
internal static class CommandSetup
{
    public static Option<T> CheckedBy<T>(this Option<T> option, Func<string, string?> check)
    {
        option.Validators.Add(result =>
        {
            foreach (var token in result.Tokens)
            {
                if (check(token.Value) is { } error)
                {
                    result.AddError(error);
                }
            }
        });
        return option;
    }

    public static Argument<T> CheckedBy<T>(this Argument<T> argument, Func<string, string?> check)
    {
        argument.Validators.Add(result =>
        {
            foreach (var token in result.Tokens)
            {
                if (check(token.Value) is { } error)
                {
                    result.AddError(error);
                }
            }
        });
        return argument;
    }

    public static Argument<string[]> NodeRefs(string description) =>
        new Argument<string[]>("NODE") { Description = description, Arity = ArgumentArity.OneOrMore }
            .CheckedBy(v => ArgumentRules.NodeRef(v).Error);

    public static Command With(this Command command, params Symbol[] symbols)
    {
        foreach (var symbol in symbols)
        {
            switch (symbol)
            {
                case Option option:
                    command.Options.Add(option);
                    break;
                case Argument argument:
                    command.Arguments.Add(argument);
                    break;
                case Command sub:
                    command.Subcommands.Add(sub);
                    break;
            }
        }

        return command;
    }
}
