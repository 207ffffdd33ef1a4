using ThinkWatch.ClickHouse;

namespace ThinkWatch.Shared.Tests;

[TestFixture]
public sealed class ClickHouseSqlTests
{
    [TestCase("plain", "'plain'")]
    [TestCase("it's", @"'it\'s'")]
    [TestCase(@"back\slash", @"'back\\slash'")]
    [TestCase("line\nbreak\ttab", @"'line\nbreak\ttab'")]
    [TestCase("nul\0byte", @"'nul\0byte'")]
    [TestCase(@"\'; DROP TABLE x; --", @"'\\\'; DROP TABLE x; --'")]
    public void Strings_are_quoted_and_escaped(string value, string expected) =>
        Assert.That(ClickHouseSql.String(value), Is.EqualTo(expected));

    [Test]
    public void Literals_are_invariant_and_typed()
    {
        Assert.Multiple(() =>
        {
            Assert.That(ClickHouseSql.Literal(null), Is.EqualTo("NULL"));
            Assert.That(ClickHouseSql.Literal(true), Is.EqualTo("1"));
            Assert.That(ClickHouseSql.Literal(-42L), Is.EqualTo("-42"));
            Assert.That(ClickHouseSql.Literal(1.5), Is.EqualTo("1.5"));
            Assert.That(ClickHouseSql.Literal(2.25m), Is.EqualTo("2.25"));
            Assert.That(ClickHouseSql.Literal(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.FromHours(2))),
                Is.EqualTo("toDateTime('2026-01-02 01:04:05', 'UTC')"));
        });
        Assert.Throws<ArgumentException>(() => ClickHouseSql.Literal(double.NaN));
        Assert.Throws<ArgumentException>(() => ClickHouseSql.Literal(new object()));
    }

    [TestCase("usage_events", true)]
    [TestCase("_x1", true)]
    [TestCase("1abc", false)]
    [TestCase("a-b", false)]
    [TestCase("a b", false)]
    [TestCase("t; DROP", false)]
    [TestCase("", false)]
    public void Identifiers_are_checked_not_escaped(string name, bool valid)
    {
        Assert.That(ClickHouseSql.IsIdentifier(name), Is.EqualTo(valid));
        if (!valid)
        {
            Assert.Throws<ArgumentException>(() => ClickHouseSql.Identifier(name));
        }
    }

    [Test]
    public void Connection_strings_parse_with_defaults_and_refuse_bad_values()
    {
        var c = ClickHouseConnection.Parse("Endpoint=http://127.0.0.1:8123;Database=audit;Username=u;Password=p");
        Assert.That((c.Endpoint.Port, c.Database, c.Username, c.Password), Is.EqualTo((8123, "audit", "u", "p")));
        var d = ClickHouseConnection.Parse("Endpoint=http://localhost:8123");
        Assert.That((d.Database, d.Username, d.Password), Is.EqualTo(("default", "default", "")));
        Assert.That(c.ToString(), Does.Not.Contain("p\""), "the password is never printed");
        Assert.Throws<FormatException>(() => ClickHouseConnection.Parse("Database=x"));
        Assert.Throws<FormatException>(() => ClickHouseConnection.Parse("Endpoint=ftp://h;Database=x"));
        Assert.Throws<FormatException>(() => ClickHouseConnection.Parse("Endpoint=http://h:1;Database=x-y"));
    }

    [Test]
    public void Schema_scripts_split_on_statement_ends_and_drop_comments()
    {
        var statements = ClickHouseSchema.Split("-- header\nCREATE TABLE a (x UInt8) ENGINE = Memory;\n\n-- next\nCREATE TABLE b (s String DEFAULT 'a;b') ENGINE = Memory;\n").ToList();

        Assert.That(statements, Is.EqualTo(new[]
        {
            "CREATE TABLE a (x UInt8) ENGINE = Memory",
            "CREATE TABLE b (s String DEFAULT 'a;b') ENGINE = Memory",
        }));
    }
}
