using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ThinkWatch.ClickHouse;

public sealed class ClickHouseException(string message, int statusCode) : Exception(message)
{
    public int StatusCode { get; } = statusCode;
}

/// <summary>
/// A small ClickHouse client over the HTTP interface: statements, JSONEachRow inserts
/// streamed from the caller's rows, and JSONEachRow reads. Works on 18.16 and current servers.
/// </summary>
public sealed class ClickHouseClient
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        NumberHandling = JsonNumberHandling.AllowReadingFromString,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new ClickHouseDateTimeConverter(), new ClickHouseDateTimeOffsetConverter() },
    };

    private readonly HttpClient _http;

    public ClickHouseClient(HttpClient http, ClickHouseConnection connection)
    {
        _http = http;
        Connection = connection;
        _http.BaseAddress = connection.Endpoint;
    }

    public ClickHouseConnection Connection { get; }

    public async Task<bool> PingAsync(CancellationToken cancellationToken = default)
    {
        using var response = await _http.GetAsync("ping", cancellationToken);
        return response.IsSuccessStatusCode && (await response.Content.ReadAsStringAsync(cancellationToken)).Trim() == "Ok.";
    }

    /// <summary>Runs a statement (DDL, ALTER, …) in the connection's database unless <paramref name="database"/> overrides it.</summary>
    public async Task ExecuteAsync(string sql, CancellationToken cancellationToken = default, string? database = null)
    {
        using var request = NewRequest(database ?? Connection.Database, null, new StringContent(sql, Encoding.UTF8, "text/plain"));
        using var response = await SendAsync(request, cancellationToken);
    }

    /// <summary>Inserts rows as JSONEachRow; property names become snake_case column names.</summary>
    public async Task InsertAsync<T>(string table, IEnumerable<T> rows, CancellationToken cancellationToken = default)
    {
        var query = $"INSERT INTO {ClickHouseSql.Identifier(table)} FORMAT JSONEachRow";
        using var content = new JsonEachRowContent<T>(rows, Json);
        using var request = NewRequest(Connection.Database, query, content);
        using var response = await SendAsync(request, cancellationToken);
    }

    /// <summary>Runs a SELECT and maps each JSONEachRow line to <typeparamref name="T"/> (snake_case columns).</summary>
    public async Task<IReadOnlyList<T>> QueryAsync<T>(string sql, CancellationToken cancellationToken = default)
    {
        using var request = NewRequest(Connection.Database, null, new StringContent(sql + "\nFORMAT JSONEachRow", Encoding.UTF8, "text/plain"));
        using var response = await SendAsync(request, cancellationToken);
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var result = new List<T>();
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length > 0)
            {
                result.Add(JsonSerializer.Deserialize<T>(line, Json)!);
            }
        }
        return result;
    }

    public async Task<string> QueryScalarAsync(string sql, CancellationToken cancellationToken = default)
    {
        using var request = NewRequest(Connection.Database, null, new StringContent(sql + "\nFORMAT TabSeparated", Encoding.UTF8, "text/plain"));
        using var response = await SendAsync(request, cancellationToken);
        return (await response.Content.ReadAsStringAsync(cancellationToken)).TrimEnd('\n');
    }

    private HttpRequestMessage NewRequest(string database, string? query, HttpContent content)
    {
        var url = "?database=" + Uri.EscapeDataString(database);
        if (query is not null)
        {
            url += "&query=" + Uri.EscapeDataString(query);
        }
        var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = content };
        request.Headers.Add("X-ClickHouse-User", Connection.Username);
        if (Connection.Password.Length > 0)
        {
            request.Headers.Add("X-ClickHouse-Key", Connection.Password);
        }
        return request;
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            response.Dispose();
            throw new ClickHouseException($"ClickHouse answered {(int)response.StatusCode}: {Truncate(body.Trim(), 1000)}", (int)response.StatusCode);
        }
        return response;
    }

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max] + "…";

    /// <summary>Streams rows into the request body one JSON line at a time, never the whole batch as one string.</summary>
    private sealed class JsonEachRowContent<T> : HttpContent
    {
        private static readonly byte[] NewLine = "\n"u8.ToArray();
        private readonly IEnumerable<T> _rows;
        private readonly JsonSerializerOptions _options;

        public JsonEachRowContent(IEnumerable<T> rows, JsonSerializerOptions options)
        {
            _rows = rows;
            _options = options;
            Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
        }

        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            foreach (var row in _rows)
            {
                await JsonSerializer.SerializeAsync(stream, row, _options);
                await stream.WriteAsync(NewLine);
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }
}
