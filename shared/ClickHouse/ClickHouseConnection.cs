using System.Data.Common;

namespace ThinkWatch.ClickHouse;

/// <summary>
/// "Endpoint=http://127.0.0.1:8123;Database=thinkwatch;Username=default;Password=".
/// </summary>
public sealed record ClickHouseConnection(Uri Endpoint, string Database, string Username, string Password)
{
    public static ClickHouseConnection Parse(string connectionString)
    {
        var b = new DbConnectionStringBuilder { ConnectionString = connectionString };
        string Get(string key, string fallback) => b.TryGetValue(key, out var v) && v is string s && s.Length > 0 ? s : fallback;
        var endpoint = Get("Endpoint", "");
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw new FormatException("ClickHouse connection string needs Endpoint=http(s)://host:port");
        }
        var database = Get("Database", "default");
        if (!ClickHouseSql.IsIdentifier(database))
        {
            throw new FormatException($"ClickHouse database name '{database}' must be a plain identifier.");
        }
        return new ClickHouseConnection(uri, database, Get("Username", "default"), Get("Password", ""));
    }

    public override string ToString() => $"{Endpoint} database={Database} user={Username}";
}
