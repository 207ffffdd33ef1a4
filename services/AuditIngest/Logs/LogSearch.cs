using System.Buffers.Text;
using System.Globalization;
using System.Reflection;
using System.Text;
using ThinkWatch.AuditIngest.Ingest;
using ThinkWatch.ClickHouse;

namespace ThinkWatch.AuditIngest.Logs;

/// <summary>One page of events, newest first; <see cref="Next"/> continues after the last one (null: no more).</summary>
public sealed record LogPage(string Kind, IReadOnlyList<object> Items, string? Next);

/// <summary>Runs a <see cref="LogQuery"/>: pages newest first with a keyset cursor (stable while events arrive), or every match as CSV.</summary>
public sealed class LogSearch(ClickHouseClient clickHouse)
{
    public const int MaxPage = 1000;
    public const int MaxExport = 100_000;

    private static readonly MethodInfo QueryMethod = typeof(LogSearch).GetMethod(nameof(QueryAsync), BindingFlags.NonPublic | BindingFlags.Instance)!;

    public async Task<LogPage> PageAsync(LogQuery query, string? scopeUserId, int limit, string? cursor, CancellationToken cancellationToken)
    {
        var where = Scoped(query, scopeUserId);
        if (cursor is not null)
        {
            var (ts, id) = DecodeCursor(cursor);
            var at = ClickHouseSql.Literal(ts);
            where += $" AND (ts < {at} OR (ts = {at} AND event_id < {ClickHouseSql.String(id)}))";
        }
        var rows = await RowsAsync(query.Kind, where, limit + 1, cancellationToken);
        var next = rows.Count > limit ? EncodeCursor((IEventRow)rows[limit - 1]) : null;
        return new LogPage(query.Kind.Name, rows.Take(limit).ToList(), next);
    }

    /// <summary>Every match (up to <see cref="MaxExport"/>), newest first, as CSV with a header row.</summary>
    public async Task WriteCsvAsync(LogQuery query, string? scopeUserId, Stream output, CancellationToken cancellationToken)
    {
        var rows = await RowsAsync(query.Kind, Scoped(query, scopeUserId), MaxExport, cancellationToken);
        var properties = query.Kind.RowType.GetProperties();
        await using var writer = new StreamWriter(output, new UTF8Encoding(false), 64 * 1024, leaveOpen: true);
        await writer.WriteLineAsync(string.Join(',', properties.Select(p => Csv.Field(JsonNaming(p.Name)))));
        foreach (var row in rows)
        {
            await writer.WriteLineAsync(string.Join(',', properties.Select(p => Csv.Field(Csv.Text(p.GetValue(row))))));
        }
    }

    private static string Scoped(LogQuery query, string? scopeUserId) =>
        scopeUserId is null ? query.Where : $"({query.Where}) AND {query.Kind.UserIs(scopeUserId)}";

    private Task<IReadOnlyList<object>> RowsAsync(LogKind kind, string where, int limit, CancellationToken cancellationToken) =>
        (Task<IReadOnlyList<object>>)QueryMethod.MakeGenericMethod(kind.RowType).Invoke(this, [kind, where, limit, cancellationToken])!;

    private async Task<IReadOnlyList<object>> QueryAsync<TRow>(LogKind kind, string where, int limit, CancellationToken cancellationToken) where TRow : class =>
        await clickHouse.QueryAsync<TRow>(
            $"SELECT * FROM {ClickHouseSql.Identifier(kind.Table)} WHERE {where} ORDER BY ts DESC, event_id DESC LIMIT {limit.ToString(CultureInfo.InvariantCulture)}",
            cancellationToken);

    private static string JsonNaming(string name) => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(name);

    private static string EncodeCursor(IEventRow row) =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes($"{row.Ts.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)}:{row.EventId}"));

    private static (DateTimeOffset Ts, string Id) DecodeCursor(string cursor)
    {
        try
        {
            var text = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(cursor));
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            return (DateTimeOffset.FromUnixTimeSeconds(long.Parse(text[..colon], NumberStyles.None, CultureInfo.InvariantCulture)), text[(colon + 1)..]);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException)
        {
            throw new LogQueryException("The cursor is not one this API gave out.");
        }
    }
}

/// <summary>RFC 4180 fields, with cells that spreadsheets would run as formulas (=, +, -, @, tab, CR) defused by a leading quote.</summary>
public static class Csv
{
    public static string Text(object? value) => value switch
    {
        null => "",
        DateTimeOffset d => d.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
        IEnumerable<string> list => string.Join(';', list),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    public static string Field(string text)
    {
        if (text.Length > 0 && text[0] is '=' or '+' or '-' or '@' or '\t' or '\r' && !IsNumber(text))
        {
            text = "'" + text;
        }
        return text.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? $"\"{text.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : text;
    }

    private static bool IsNumber(string text) => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _);
}
