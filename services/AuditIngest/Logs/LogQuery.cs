using System.Globalization;
using System.Text;
using ThinkWatch.ClickHouse;

namespace ThinkWatch.AuditIngest.Logs;

public sealed class LogQueryException(string message) : Exception(message);

/// <summary>
/// The search syntax of /api/logs, turned into a ClickHouse WHERE clause. Terms are
/// <c>field:value</c>, separated by spaces; the same field given twice means either value, different
/// fields must all match; <c>-field:value</c> excludes. Values: text (quoted "with spaces", * as
/// wildcard, a lone * for "present"), numbers with &gt;, &gt;=, &lt;, &lt;= or a range <c>400..499</c>;
/// <c>since:</c>/<c>until:</c> take a duration back from now (30m, 1h, 7d, 2w) or a UTC date/time.
/// Field names map to known columns only and every value reaches SQL through
/// <see cref="ClickHouseSql"/> escaping (18.16 has no server-side parameters).
/// </summary>
public sealed class LogQuery
{
    public const int MaxLength = 2000;
    public const int MaxTerms = 32;

    private LogQuery(LogKind kind, string where, bool hasSince) => (Kind, Where, HasSince) = (kind, where, hasSince);

    public LogKind Kind { get; }

    /// <summary>The condition ("1" when the query has no terms), safe to append after WHERE.</summary>
    public string Where { get; }

    /// <summary>Whether the query sets where time starts (a since: term).</summary>
    public bool HasSince { get; }

    public static LogQuery Parse(LogKind kind, string? text, DateTimeOffset now)
    {
        text ??= "";
        if (text.Length > MaxLength)
        {
            throw new LogQueryException($"The query is longer than {MaxLength} characters.");
        }
        var terms = Tokenize(text);
        if (terms.Count > MaxTerms)
        {
            throw new LogQueryException($"The query has more than {MaxTerms} terms.");
        }
        var groups = new List<(string Key, List<string> Conditions)>();
        foreach (var (negated, field, value) in terms)
        {
            var condition = field switch
            {
                "since" => $"ts >= {ClickHouseSql.Literal(Time(value, now))}",
                "until" => $"ts < {ClickHouseSql.Literal(Time(value, now))}",
                _ when kind.Fields.TryGetValue(field, out var f) => Condition(f, field, value),
                _ => throw new LogQueryException(
                    $"Unknown field '{field}' for {kind.Name} logs; use one of: {string.Join(", ", kind.Fields.Keys.Order(StringComparer.Ordinal))}, since, until."),
            };
            if (negated)
            {
                condition = $"NOT ({condition})";
            }
            // Repeats of one field (same sign) are alternatives; since/until always narrow.
            var key = field is "since" or "until" ? $"{field}#{groups.Count}" : (negated ? "-" : "+") + field;
            var group = groups.FirstOrDefault(g => g.Key == key && !negated).Conditions;
            if (group is null)
            {
                groups.Add((key, [condition]));
            }
            else
            {
                group.Add(condition);
            }
        }
        var where = groups.Count == 0 ? "1" : string.Join(" AND ", groups.Select(g => g.Conditions.Count == 1 ? g.Conditions[0] : $"({string.Join(" OR ", g.Conditions)})"));
        return new LogQuery(kind, where, terms.Any(t => t.Field == "since" && !t.Negated));
    }

    private static string Condition(LogField field, string name, string value)
    {
        var column = ClickHouseSql.Identifier(field.Column);
        switch (field.Type)
        {
            case FieldType.Number:
                var range = value.Split("..");
                if (range.Length == 2)
                {
                    return $"{column} >= {Number(name, range[0])} AND {column} <= {Number(name, range[1])}";
                }
                var op = value.StartsWith(">=", StringComparison.Ordinal) || value.StartsWith("<=", StringComparison.Ordinal) ? value[..2]
                    : value.StartsWith('>') || value.StartsWith('<') || value.StartsWith('=') ? value[..1] : "=";
                return $"{column} {op} {Number(name, value.StartsWith(op, StringComparison.Ordinal) ? value[op.Length..] : value)}";
            case FieldType.Tags:
                return $"has({column}, {ClickHouseSql.String(value)})";
            default:
                if (value == "*")
                {
                    return $"{column} != ''";
                }
                if (!value.Contains('*', StringComparison.Ordinal))
                {
                    return $"{column} = {ClickHouseSql.String(value)}";
                }
                // LIKE pattern: the user's % and _ are literal, * is the wildcard.
                var pattern = value.Replace(@"\", @"\\", StringComparison.Ordinal).Replace("%", @"\%", StringComparison.Ordinal)
                    .Replace("_", @"\_", StringComparison.Ordinal).Replace('*', '%');
                return $"{column} LIKE {ClickHouseSql.String(pattern)}";
        }
    }

    private static string Number(string field, string text) =>
        long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
            ? n.ToString(CultureInfo.InvariantCulture)
            : throw new LogQueryException($"'{field}' takes a whole number, optionally after >, >=, <, <= or as a range a..b; '{text}' is not one.");

    private static DateTimeOffset Time(string text, DateTimeOffset now)
    {
        if (text.Length >= 2 && long.TryParse(text[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var amount) && amount <= 100_000)
        {
            TimeSpan? span = text[^1] switch
            {
                's' => TimeSpan.FromSeconds(amount),
                'm' => TimeSpan.FromMinutes(amount),
                'h' => TimeSpan.FromHours(amount),
                'd' => TimeSpan.FromDays(amount),
                'w' => TimeSpan.FromDays(7 * amount),
                _ => null,
            };
            if (span is { } s)
            {
                return now - s;
            }
        }
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at)
            ? at
            : throw new LogQueryException($"since/until take a duration back from now (30m, 1h, 7d, 2w) or a UTC date/time (2026-11-01, 2026-11-01T08:00:00Z); '{text}' is neither.");
    }

    /// <summary>Splits "a:b -c:\"d e\"" into (negated, field, value) terms; quotes may hold spaces and \" or \\.</summary>
    private static List<(bool Negated, string Field, string Value)> Tokenize(string text)
    {
        var terms = new List<(bool, string, string)>();
        var i = 0;
        while (true)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i]))
            {
                i++;
            }
            if (i == text.Length)
            {
                return terms;
            }
            var negated = text[i] == '-';
            var start = negated ? ++i : i;
            while (i < text.Length && text[i] != ':' && !char.IsWhiteSpace(text[i]))
            {
                i++;
            }
            if (i == text.Length || text[i] != ':' || i == start)
            {
                throw new LogQueryException($"'{text[(negated ? start - 1 : start)..i]}' is not a term: write field:value (quote values with spaces).");
            }
            var field = text[start..i].ToLowerInvariant();
            i++; // ':'
            var value = new StringBuilder();
            var quoted = i < text.Length && text[i] == '"';
            if (quoted)
            {
                i++;
                while (i < text.Length && text[i] != '"')
                {
                    if (text[i] == '\\' && i + 1 < text.Length)
                    {
                        i++;
                    }
                    value.Append(text[i++]);
                }
                if (i == text.Length)
                {
                    throw new LogQueryException($"The quoted value of '{field}' is not closed.");
                }
                i++;
            }
            else
            {
                while (i < text.Length && !char.IsWhiteSpace(text[i]))
                {
                    value.Append(text[i++]);
                }
            }
            if (value.Length == 0 && !quoted)
            {
                throw new LogQueryException($"'{field}:' needs a value.");
            }
            terms.Add((negated, field, value.ToString()));
        }
    }
}
