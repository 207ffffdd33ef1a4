using ThinkWatch.AuditIngest.Logs;

namespace ThinkWatch.AuditIngest.Tests;

/// <summary>The /api/logs syntax turned into SQL: what each term means, and that no input escapes its literal.</summary>
[TestFixture]
public sealed class LogQueryTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    private static string Where(string q, LogKind? kind = null) => LogQuery.Parse(kind ?? LogKind.Usage, q, Now).Where;

    private static string Error(string q) => Assert.Throws<LogQueryException>(() => LogQuery.Parse(LogKind.Usage, q, Now))!.Message;

    [Test]
    public void The_example_query_becomes_one_condition_per_term()
    {
        Assert.That(Where("user:alice model:gpt-4o status:>=400 latency_ms:>2000 since:1h"), Is.EqualTo(
            "user_id = 'alice' AND model = 'gpt-4o' AND status >= 400 AND latency_ms > 2000 AND ts >= toDateTime('2026-11-23 11:00:00', 'UTC')"));
    }

    [TestCase("", "1")]
    [TestCase("   ", "1")]
    [TestCase("model:gpt-4o model:claude-sonnet-4", "(model = 'gpt-4o' OR model = 'claude-sonnet-4')")]
    [TestCase("-model:gpt-4o -model:o3", "NOT (model = 'gpt-4o') AND NOT (model = 'o3')")]
    [TestCase("model:gpt-4*", @"model LIKE 'gpt-4%'")]
    [TestCase("model:*", "model != ''")]
    [TestCase("team:\"\"", "team_id = ''")]
    [TestCase("model:a_b%*", @"model LIKE 'a\\_b\\%%'")]
    [TestCase("status:400..499", "status >= 400 AND status <= 499")]
    [TestCase("status:500", "status = 500")]
    [TestCase("status:<=299", "status <= 299")]
    [TestCase("ttft_ms:<0", "ttft_ms < 0")]
    [TestCase("tag:project:atlas", "has(tags, 'project:atlas')")]
    [TestCase("USER:bob", "user_id = 'bob'")]
    [TestCase("user:\"Ann Lee\"", "user_id = 'Ann Lee'")]
    [TestCase("since:2026-11-01 until:2026-11-02T08:30:00Z", "ts >= toDateTime('2026-11-01 00:00:00', 'UTC') AND ts < toDateTime('2026-11-02 08:30:00', 'UTC')")]
    [TestCase("since:7d", "ts >= toDateTime('2026-11-16 12:00:00', 'UTC')")]
    [TestCase("since:2w", "ts >= toDateTime('2026-11-09 12:00:00', 'UTC')")]
    public void Terms(string q, string where) => Assert.That(Where(q), Is.EqualTo(where));

    [Test]
    public void Fields_belong_to_their_kind()
    {
        Assert.That(Where("tool:search_issues server:github error:*", LogKind.Mcp), Is.EqualTo("tool = 'search_issues' AND server_id = 'github' AND error != ''"));
        Assert.That(Where("user:root action:key.revoke", LogKind.Admin), Is.EqualTo("actor_user_id = 'root' AND action = 'key.revoke'"));
        Assert.That(Where("reason:rate_limit rule:*", LogKind.Access), Is.EqualTo("reason = 'rate_limit' AND rule_label != ''"));
        Assert.Throws<LogQueryException>(() => LogQuery.Parse(LogKind.Admin, "model:gpt-4o", Now));
    }

    [TestCase("user:\"alice' OR 1=1 --\"", @"user_id = 'alice\' OR 1=1 --'")]
    [TestCase("user:alice'--", @"user_id = 'alice\'--'")]
    [TestCase(@"user:""a\\' OR '1'='1""", @"user_id = 'a\\\' OR \'1\'=\'1'")]
    [TestCase("model:x');DROP_TABLE_usage_events;--", @"model = 'x\');DROP_TABLE_usage_events;--'")]
    [TestCase("model:\"a\nb\"", @"model = 'a\nb'")]
    [TestCase("model:\"a\0b\"", @"model = 'a\0b'")]
    [TestCase("tag:\"') OR 1 --\"", @"has(tags, '\') OR 1 --')")]
    [TestCase("model:*'*", @"model LIKE '%\'%'")]
    public void Hostile_values_stay_inside_their_escaped_literal(string q, string where) => Assert.That(Where(q), Is.EqualTo(where));

    [TestCase("status:1 OR 1=1", "'OR' is not a term")]
    [TestCase("status:>=1;DROP", "whole number")]
    [TestCase("status:0x10", "whole number")]
    [TestCase("latency_ms:1..2..3", "whole number")]
    [TestCase("user_id):x", "Unknown field 'user_id)'")]
    [TestCase("ts:1", "Unknown field 'ts'")]
    [TestCase("hello", "'hello' is not a term")]
    [TestCase("user:", "needs a value")]
    [TestCase("user: alice", "needs a value")]
    [TestCase("user:\"alice", "not closed")]
    [TestCase("since:yesterday", "since/until")]
    [TestCase("since:-1h", "since/until")]
    [TestCase(":x", "is not a term")]
    public void Malformed_or_malicious_queries_are_refused_with_a_reason(string q, string reason) => Assert.That(Error(q), Does.Contain(reason));

    [Test]
    public void Queries_are_bounded_in_length_and_terms()
    {
        Assert.That(Error(new string('a', LogQuery.MaxLength + 1)), Does.Contain("longer than"));
        Assert.That(Error(string.Join(' ', Enumerable.Repeat("model:x", LogQuery.MaxTerms + 1))), Does.Contain("more than"));
    }

    [TestCase("plain", "plain")]
    [TestCase("a,b", "\"a,b\"")]
    [TestCase("say \"hi\"", "\"say \"\"hi\"\"\"")]
    [TestCase("=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\"")]
    [TestCase("@SUM(A1)", "'@SUM(A1)")]
    [TestCase("-5", "-5")]
    [TestCase("-cmd", "'-cmd")]
    public void Csv_fields_are_quoted_and_formulas_defused(string text, string field) => Assert.That(Csv.Field(text), Is.EqualTo(field));
}
