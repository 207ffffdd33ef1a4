using System.Collections.Frozen;
using ThinkWatch.Contracts.Common.V1;

namespace ThinkWatch.Quota.Rules;

/// <summary>The names rules are written with (in the API, the database and rule labels) and what they mean.</summary>
public static class Vocabulary
{
    /// <summary>A rule or budget with this subject id applies to every subject of its kind, each counted separately.</summary>
    public const string EverySubject = "*";

    public static readonly FrozenDictionary<string, SubjectKind> SubjectKinds = new Dictionary<string, SubjectKind>
    {
        ["user"] = SubjectKind.User,
        ["api_key"] = SubjectKind.ApiKey,
        ["team"] = SubjectKind.Team,
        ["provider"] = SubjectKind.Provider,
        ["mcp_server"] = SubjectKind.McpServer,
    }.ToFrozenDictionary();

    public static readonly FrozenDictionary<string, Surface> Surfaces = new Dictionary<string, Surface>
    {
        ["ai_gateway"] = Surface.AiGateway,
        ["mcp_gateway"] = Surface.McpGateway,
    }.ToFrozenDictionary();

    public static readonly FrozenSet<string> Metrics = new[] { "requests", "tokens" }.ToFrozenSet();

    public static readonly FrozenDictionary<string, TimeSpan> Windows = new Dictionary<string, TimeSpan>
    {
        ["1m"] = TimeSpan.FromMinutes(1),
        ["5m"] = TimeSpan.FromMinutes(5),
        ["1h"] = TimeSpan.FromHours(1),
        ["5h"] = TimeSpan.FromHours(5),
        ["1d"] = TimeSpan.FromDays(1),
        ["1w"] = TimeSpan.FromDays(7),
    }.ToFrozenDictionary();

    public static readonly FrozenSet<string> Periods = new[] { "daily", "weekly", "monthly" }.ToFrozenSet();

    public static readonly FrozenSet<string> Actions = new[] { "block", "warn" }.ToFrozenSet();

    public static string NameOf(SubjectKind kind) => SubjectKinds.First(k => k.Value == kind).Key;

    public static string NameOf(Surface surface) => Surfaces.First(s => s.Value == surface).Key;

    /// <summary>
    /// The calendar period (UTC) that <paramref name="now"/> falls in: days from midnight,
    /// weeks from Monday (ISO 8601), months from the first.
    /// </summary>
    public static (DateTimeOffset Start, DateTimeOffset End) PeriodOf(string period, DateTimeOffset now)
    {
        var day = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero);
        return period switch
        {
            "daily" => (day, day.AddDays(1)),
            "weekly" => (day.AddDays(-(((int)day.DayOfWeek + 6) % 7)), day.AddDays(7 - (((int)day.DayOfWeek + 6) % 7))),
            "monthly" => (new DateTimeOffset(day.Year, day.Month, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(day.Year, day.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1)),
            _ => throw new ArgumentException($"unknown period '{period}'", nameof(period)),
        };
    }
}
