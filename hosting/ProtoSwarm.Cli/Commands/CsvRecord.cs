using System.Collections.Immutable;
using System.Globalization;
using System.Text;

namespace ProtoSwarm.Cli.Commands;

/// <summary>
/// A flag's value read as one CSV record, as docker's CLI reads every flag it parses with Go's encoding/csv
/// (csv.NewReader on the value, one Read, default settings): `--mount`, `--publish` and `--network` in their
/// key=value form, `--secret`, `--config`, `--external-ca`. Go's rules, to the letter:
/// <list type="bullet">
/// <item>commas separate fields; blanks are part of a field (nothing is trimmed);</item>
/// <item>a field that starts with a double quote is quoted: it ends at a quote followed by a comma or the end, may hold
/// commas and line breaks, and "" in it is one quote; any other character after its closing quote is an error
/// ("extraneous or missing \" in quoted-field"), and so is a quote never closed;</item>
/// <item>a quote anywhere in a field that does not start with one is an error ("bare \" in non-quoted-field");</item>
/// <item>the record is the first line that is not empty (\r\n reads as \n): what follows it is not read, and a value
/// with no such line (empty) has no record.</item>
/// </list>
/// Errors name the flag and value, then say where, as Go's csv.ParseError does ("parse error on line 1, column 2").
/// Pure.
/// </summary>
internal static class CsvRecord
{
    private const string BareQuote = "bare \" in non-quoted-field";
    private const string ExtraneousQuote = "extraneous or missing \" in quoted-field";
    private const string Hint = "a double quote may only enclose a whole field, e.g. \"volume-opt=o=addr=10.0.0.5,rw\", and a quote inside it is written twice (\"\")";
    private const string NotClosed = " (a quote is not closed)";
    private const string NotEnded = " (a quoted field ends at its closing quote, before a comma or the end)";

    /// <summary>The fields of <paramref name="value"/>, or why it is not one CSV record (naming <paramref name="flag"/>; "" for none).</summary>
    public static Checked<ImmutableArray<string>> Read(string flag, string value)
    {
        var reader = new LineReader(value);
        string? line;
        do
        {
            line = reader.Next();
        }
        while (line is not null && line.Length == NewlineLength(line));

        if (line is null)
        {
            return Checked<ImmutableArray<string>>.Fail($"{ServiceFlags.Named(flag, value)} is empty; give at least one field, e.g. key=value.");
        }

        var recordLine = reader.LineNumber;
        var fields = ImmutableArray.CreateBuilder<string>();
        var at = 0;
        while (true)
        {
            if (at >= line.Length || line[at] != '"')
            {
                var comma = line.IndexOf(',', at);
                var end = comma >= 0 ? comma : line.Length - NewlineLength(line);
                var text = line[at..end];
                if (text.IndexOf('"', StringComparison.Ordinal) is var quote and >= 0)
                {
                    return Fail(flag, value, recordLine, reader.LineNumber, Column(line, at + quote), BareQuote);
                }

                fields.Add(text);
                if (comma < 0)
                {
                    return Checked<ImmutableArray<string>>.Ok(fields.ToImmutable());
                }

                at = comma + 1;
                continue;
            }

            // A quoted field: up to a quote followed by a comma or the end of the line, over line breaks.
            var field = new StringBuilder();
            at++;
            while (true)
            {
                var quote = line.IndexOf('"', at);
                if (quote >= 0)
                {
                    field.Append(line, at, quote - at);
                    at = quote + 1;
                    if (at < line.Length && line[at] == '"')
                    {
                        field.Append('"');
                        at++;
                    }
                    else if (at < line.Length && line[at] == ',')
                    {
                        fields.Add(field.ToString());
                        at++;
                        break;
                    }
                    else if (line.Length - at == NewlineLength(line[at..]))
                    {
                        fields.Add(field.ToString());
                        return Checked<ImmutableArray<string>>.Ok(fields.ToImmutable());
                    }
                    else
                    {
                        return Fail(flag, value, recordLine, reader.LineNumber, Column(line, at - 1), ExtraneousQuote + NotEnded);
                    }
                }
                else if (at < line.Length)
                {
                    field.Append(line, at, line.Length - at);
                    var (lineNumber, column) = (reader.LineNumber, Column(line, line.Length));
                    if (reader.Next() is not { Length: > 0 } next)
                    {
                        return Fail(flag, value, recordLine, lineNumber, column, ExtraneousQuote + NotClosed);
                    }

                    (line, at) = (next, 0);
                }
                else
                {
                    return Fail(flag, value, recordLine, reader.LineNumber, Column(line, at), ExtraneousQuote + NotClosed);
                }
            }
        }
    }

    private static Checked<ImmutableArray<string>> Fail(string flag, string value, int recordLine, int line, int column, string error)
    {
        var where = recordLine == line
            ? string.Create(CultureInfo.InvariantCulture, $"parse error on line {line}, column {column}")
            : string.Create(CultureInfo.InvariantCulture, $"record on line {recordLine}; parse error on line {line}, column {column}");
        return Checked<ImmutableArray<string>>.Fail($"{ServiceFlags.Named(flag, value)}: {where}: {error}; {Hint}.");
    }

    /// <summary>Go's column: the 1-based byte index (UTF-8) of <paramref name="index"/> in its line.</summary>
    private static int Column(string line, int index) => Encoding.UTF8.GetByteCount(line.AsSpan(0, index)) + 1;

    private static int NewlineLength(string line) => line.EndsWith('\n') ? 1 : 0;

    /// <summary>
    /// The value's lines as Go's csv reader reads them: each with its \n (\r\n made \n), the last without one (a \r
    /// ending it dropped); null past the end. LineNumber counts the lines read.
    /// </summary>
    private sealed class LineReader(string text)
    {
        private int _next;

        public int LineNumber { get; private set; }

        public string? Next()
        {
            if (_next >= text.Length)
            {
                return null;
            }

            var newline = text.IndexOf('\n', _next);
            string line;
            if (newline < 0)
            {
                line = text[_next..];
                _next = text.Length;
                if (line.EndsWith('\r'))
                {
                    line = line[..^1];
                }
            }
            else
            {
                line = text[_next..(newline + 1)];
                _next = newline + 1;
                if (line.EndsWith("\r\n", StringComparison.Ordinal))
                {
                    line = line[..^2] + "\n";
                }
            }

            LineNumber++;
            return line;
        }
    }
}
