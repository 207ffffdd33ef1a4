using System.Collections.Frozen;
using ThinkWatch.AuditIngest.Ingest;
using ThinkWatch.ClickHouse;

namespace ThinkWatch.AuditIngest.Logs;

public enum FieldType
{
    Text,
    Number,
    /// <summary>An Array(String) column: field:value means "has this element".</summary>
    Tags,
}

public sealed record LogField(string Column, FieldType Type);

/// <summary>One searchable event table and the field names a query may use on it.</summary>
public sealed record LogKind(string Name, string Table, Type RowType, string UserColumn, FrozenDictionary<string, LogField> Fields)
{
    private static LogField Text(string column) => new(column, FieldType.Text);
    private static LogField Number(string column) => new(column, FieldType.Number);

    private static readonly (string, LogField)[] Common = [("id", Text("event_id")), ("trace", Text("trace_id"))];

    public static readonly LogKind Usage = Define("usage", UsageRow.Table, typeof(UsageRow), "user_id",
        ("user", Text("user_id")), ("team", Text("team_id")), ("key", Text("api_key_id")), ("provider", Text("provider")), ("model", Text("model")),
        ("upstream_model", Text("upstream_model")), ("endpoint", Text("endpoint")), ("status", Number("status")), ("latency_ms", Number("latency_ms")), ("ttft_ms", Number("ttft_ms")),
        ("input_tokens", Number("input_tokens")), ("output_tokens", Number("output_tokens")), ("weighted_tokens", Number("weighted_tokens")),
        ("cost_micro_usd", Number("cost_micro_usd")), ("stream", Number("stream")), ("tag", new LogField("tags", FieldType.Tags)));

    public static readonly LogKind Mcp = Define("mcp", McpCallRow.Table, typeof(McpCallRow), "user_id",
        ("user", Text("user_id")), ("key", Text("api_key_id")), ("account", Text("account_label")), ("server", Text("server_id")), ("tool", Text("tool")),
        ("error", Text("error")), ("latency_ms", Number("latency_ms")), ("response_bytes", Number("response_bytes")), ("cached", Number("cached")));

    public static readonly LogKind Admin = Define("admin", AdminAuditRow.Table, typeof(AdminAuditRow), "actor_user_id",
        ("user", Text("actor_user_id")), ("action", Text("action")), ("target_kind", Text("target_kind")), ("target", Text("target_id")),
        ("ip", Text("client_ip")));

    public static readonly LogKind Access = Define("access", AccessRow.Table, typeof(AccessRow), "user_id",
        ("user", Text("user_id")), ("key", Text("api_key_id")), ("surface", Text("surface")), ("reason", Text("reason")), ("ip", Text("client_ip")),
        ("rule", Text("rule_label")));

    /// <summary>The condition for one user's events (whose the event is: the user, or the acting administrator).</summary>
    public string UserIs(string userId) => $"{UserColumn} = {ClickHouseSql.String(userId)}";

    public static readonly FrozenDictionary<string, LogKind> All = new[] { Usage, Mcp, Admin, Access }.ToFrozenDictionary(k => k.Name);

    private static LogKind Define(string name, string table, Type rowType, string userColumn, params (string Name, LogField Field)[] fields) =>
        new(name, table, rowType, userColumn, fields.Concat(Common).ToFrozenDictionary(f => f.Item1, f => f.Item2));
}
