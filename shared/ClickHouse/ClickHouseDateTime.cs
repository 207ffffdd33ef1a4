using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ThinkWatch.ClickHouse;

/// <summary>
/// ClickHouse reads and writes DateTime as "yyyy-MM-dd HH:mm:ss" (no 'T', no offset) in the
/// column's time zone; ThinkWatch declares its columns DateTime('UTC') and converts here.
/// </summary>
internal static class ClickHouseDateTime
{
    private const string Format = "yyyy-MM-dd HH:mm:ss";
    private static readonly string[] ReadFormats = [Format, "yyyy-MM-dd HH:mm:ss.FFFFFFF", "yyyy-MM-dd"];

    public static DateTime Read(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Number)
        {
            return DateTime.UnixEpoch.AddSeconds(reader.GetInt64());
        }
        var text = reader.GetString();
        return DateTime.TryParseExact(text, ReadFormats, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var value)
            ? value
            : throw new JsonException($"'{text}' is not a ClickHouse DateTime");
    }

    public static string Write(DateTime value) =>
        (value.Kind == DateTimeKind.Local ? value.ToUniversalTime() : value).ToString(Format, CultureInfo.InvariantCulture);
}

internal sealed class ClickHouseDateTimeConverter : JsonConverter<DateTime>
{
    public override DateTime Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => ClickHouseDateTime.Read(ref reader);
    public override void Write(Utf8JsonWriter writer, DateTime value, JsonSerializerOptions options) => writer.WriteStringValue(ClickHouseDateTime.Write(value));
}

internal sealed class ClickHouseDateTimeOffsetConverter : JsonConverter<DateTimeOffset>
{
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => new(ClickHouseDateTime.Read(ref reader), TimeSpan.Zero);
    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) => writer.WriteStringValue(ClickHouseDateTime.Write(value.UtcDateTime));
}
