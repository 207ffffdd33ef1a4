using System.Globalization;

namespace ThinkWatch.AppHost.Hosting;

/// <summary>`verb --name value --flag positional…`; the verb defaults to run.</summary>
public sealed class CommandLine
{
    private readonly Dictionary<string, string?> _options = new(StringComparer.Ordinal);

    public CommandLine(IReadOnlyList<string> args)
    {
        var i = 0;
        Verb = args.Count > 0 && !args[0].StartsWith('-') ? args[i++] : "run";
        for (; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg.StartsWith("--", StringComparison.Ordinal))
            {
                var eq = arg.IndexOf('=', StringComparison.Ordinal);
                if (eq > 0)
                {
                    _options[arg[2..eq]] = arg[(eq + 1)..];
                }
                else if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    _options[arg[2..]] = args[++i];
                }
                else
                {
                    _options[arg[2..]] = null;
                }
            }
            else
            {
                Positional.Add(arg);
            }
        }
    }

    public string Verb { get; }
    public List<string> Positional { get; } = [];

    public bool Flag(string name) => _options.ContainsKey(name);
    public string? Get(string name) => _options.GetValueOrDefault(name);
    public string Get(string name, string fallback) => _options.GetValueOrDefault(name) ?? fallback;

    public int GetInt(string name, int fallback) =>
        _options.GetValueOrDefault(name) is { } s
            ? int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw new ArgumentException($"--{name} must be a whole number, not '{s}'")
            : fallback;

    public void RejectUnknown(params string[] known)
    {
        var unknown = _options.Keys.Where(k => !known.Contains(k)).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException($"unknown option(s) for '{Verb}': {string.Join(", ", unknown.Select(u => "--" + u))}");
        }
    }
}
