namespace ThinkWatch.Integrations;

public static class PostgresTime
{
    /// <summary>A timestamptz value as Dapper hands it over (a DateTime in UTC, Kind unset or Utc) as a DateTimeOffset.</summary>
    public static DateTimeOffset AsUtc(this DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));
}
