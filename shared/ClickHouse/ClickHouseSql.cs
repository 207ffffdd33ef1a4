using System.Globalization;
using System.Text;

namespace ThinkWatch.ClickHouse;

/// <summary>
/// Client-side literal escaping. Debian's ClickHouse 18.16 has no server-side query
/// parameters, so every value that reaches SQL goes through here.
/// </summary>
public static class ClickHouseSql
{
    public static string String(string value)
    {
        var sb = new StringBuilder(value.Length + 2).Append('\'');
        foreach (var c in value)
        {
            switch (c)
            {
                case '\\': sb.Append(@"\\"); break;
                case '\'': sb.Append(@"\'"); break;
                case '\n': sb.Append(@"\n"); break;
                case '\r': sb.Append(@"\r"); break;
                case '\t': sb.Append(@"\t"); break;
                case '\0': sb.Append(@"\0"); break;
                case '\b': sb.Append(@"\b"); break;
                case '\f': sb.Append(@"\f"); break;
                default: sb.Append(c); break;
            }
        }
        return sb.Append('\'').ToString();
    }

    public static string Literal(object? value) => value switch
    {
        null => "NULL",
        string s => String(s),
        bool b => b ? "1" : "0",
        DateTimeOffset d => $"toDateTime({String(d.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture))}, 'UTC')",
        DateTime d => $"toDateTime({String(d.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture))}, 'UTC')",
        Guid g => String(g.ToString()),
        sbyte or byte or short or ushort or int or uint or long or ulong => Convert.ToString(value, CultureInfo.InvariantCulture)!,
        float f when float.IsFinite(f) => f.ToString("R", CultureInfo.InvariantCulture),
        double d when double.IsFinite(d) => d.ToString("R", CultureInfo.InvariantCulture),
        decimal m => m.ToString(CultureInfo.InvariantCulture),
        _ => throw new ArgumentException($"No ClickHouse literal for {value.GetType().Name} value", nameof(value)),
    };

    /// <summary>Identifiers are never escaped, only checked: names come from code, not users.</summary>
    public static bool IsIdentifier(string name) =>
        name.Length is > 0 and < 128 && (char.IsAsciiLetter(name[0]) || name[0] == '_')
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    public static string Identifier(string name) =>
        IsIdentifier(name) ? name : throw new ArgumentException($"'{name}' is not a plain identifier", nameof(name));
}
