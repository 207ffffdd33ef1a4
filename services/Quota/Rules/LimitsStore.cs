using Dapper;
using Npgsql;
using ThinkWatch.Security;

namespace ThinkWatch.Quota.Rules;

/// <summary>A rate-limit rule as the console sends it.</summary>
public sealed record RuleInput(string? SubjectKind, string? SubjectId, string? Surface, string? Metric, string? Window, long? Limit, bool? Enabled);

/// <summary>A budget cap as the console sends it: a limit in weighted tokens, in US dollars, or both.</summary>
public sealed record BudgetInput(string? SubjectKind, string? SubjectId, string? Period, long? LimitWeightedTokens, decimal? LimitUsd, string? Action, bool? Enabled);

public sealed record BudgetView(
    Guid Id, string SubjectKind, string SubjectId, string Period, long? LimitWeightedTokens, decimal? LimitUsd, string Action, bool Enabled, string Label, DateTime CreatedAt, DateTime UpdatedAt)
{
    public static BudgetView Of(BudgetCap b) => new(b.Id, b.SubjectKind, b.SubjectId, b.Period, b.LimitWeightedTokens,
        b.LimitMicroUsd is { } micro ? micro / 1_000_000m : null, b.Action, b.Enabled, b.Label, b.CreatedAt, b.UpdatedAt);
}

/// <summary>
/// Rules and budgets in Postgres. Input is checked completely before anything is written; every
/// change commits with its events (ConfigChanged "limits" so every replica reloads, and the admin
/// audit record) through the outbox.
/// </summary>
public sealed class LimitsStore(NpgsqlDataSource dataSource, ConfigChanges changes, TimeProvider time)
{
    public const string RuleColumns = """
        id AS Id, subject_kind AS SubjectKind, subject_id AS SubjectId, surface AS Surface, metric AS Metric,
        time_window AS Window, limit_value AS Limit, enabled AS Enabled, created_at AS CreatedAt, updated_at AS UpdatedAt
        """;

    public const string BudgetColumns = """
        id AS Id, subject_kind AS SubjectKind, subject_id AS SubjectId, period AS Period, limit_weighted_tokens AS LimitWeightedTokens,
        limit_micro_usd AS LimitMicroUsd, action AS Action, enabled AS Enabled, created_at AS CreatedAt, updated_at AS UpdatedAt
        """;

    /// <summary>Large enough for any real limit, small enough that counters never leave exact integer range in Lua (2^53).</summary>
    public const long MaxLimit = 1_000_000_000_000;

    public async Task<IReadOnlyList<LimitRule>> ListRulesAsync(string? subjectKind, string? subjectId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return [.. await connection.QueryAsync<LimitRule>(new CommandDefinition($"""
            SELECT {RuleColumns} FROM rate_limit_rules
            WHERE (@subjectKind::text IS NULL OR subject_kind = @subjectKind) AND (@subjectId::text IS NULL OR subject_id = @subjectId)
            ORDER BY subject_kind, subject_id, surface, metric, time_window
            """, new { subjectKind, subjectId }, cancellationToken: cancellationToken))];
    }

    public async Task<IReadOnlyList<BudgetView>> ListBudgetsAsync(string? subjectKind, string? subjectId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<BudgetCap>(new CommandDefinition($"""
            SELECT {BudgetColumns} FROM budget_caps
            WHERE (@subjectKind::text IS NULL OR subject_kind = @subjectKind) AND (@subjectId::text IS NULL OR subject_id = @subjectId)
            ORDER BY subject_kind, subject_id, period
            """, new { subjectKind, subjectId }, cancellationToken: cancellationToken));
        return [.. rows.Select(BudgetView.Of)];
    }

    public Task<Outcome<LimitRule>> CreateRuleAsync(ConsoleActor actor, RuleInput input, CancellationToken cancellationToken) =>
        SaveRuleAsync(actor, null, input, cancellationToken);

    public Task<Outcome<LimitRule>> UpdateRuleAsync(ConsoleActor actor, Guid id, RuleInput input, CancellationToken cancellationToken) =>
        SaveRuleAsync(actor, id, input, cancellationToken);

    private async Task<Outcome<LimitRule>> SaveRuleAsync(ConsoleActor actor, Guid? id, RuleInput input, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        ValidateSubject(input.SubjectKind, input.SubjectId, errors);
        Require(input.Surface, Vocabulary.Surfaces.Keys, "surface", errors);
        Require(input.Metric, Vocabulary.Metrics, "metric", errors);
        Require(input.Window, Vocabulary.Windows.Keys, "window", errors);
        if (input.Limit is not (> 0 and <= MaxLimit))
        {
            errors["limit"] = [$"Required: a whole number from 1 to {MaxLimit}."];
        }
        if (errors.Count > 0)
        {
            return new Outcome<LimitRule>.Invalid(errors);
        }
        var now = time.GetUtcNow().UtcDateTime;
        var row = new LimitRule(id ?? Guid.CreateVersion7(), input.SubjectKind!, input.SubjectId!, input.Surface!, input.Metric!, input.Window!, input.Limit!.Value,
            input.Enabled ?? true, now, now);
        const string Insert = """
            INSERT INTO rate_limit_rules (id, subject_kind, subject_id, surface, metric, time_window, limit_value, enabled, created_at, updated_at)
            VALUES (@Id, @SubjectKind, @SubjectId, @Surface, @Metric, @Window, @Limit, @Enabled, @CreatedAt, @UpdatedAt)
            RETURNING created_at
            """;
        const string Update = """
            UPDATE rate_limit_rules SET subject_kind = @SubjectKind, subject_id = @SubjectId, surface = @Surface, metric = @Metric,
                time_window = @Window, limit_value = @Limit, enabled = @Enabled, updated_at = @UpdatedAt
            WHERE id = @Id RETURNING created_at
            """;
        return await WriteAsync(actor, id is null ? "limit_rule.create" : "limit_rule.update", "limit_rule", row.Id, id is null ? Insert : Update, row,
            created => row with { CreatedAt = created }, "A rule for this subject, surface, metric and window exists already; change its limit instead.", cancellationToken);
    }

    public Task<Outcome<BudgetView>> CreateBudgetAsync(ConsoleActor actor, BudgetInput input, CancellationToken cancellationToken) =>
        SaveBudgetAsync(actor, null, input, cancellationToken);

    public Task<Outcome<BudgetView>> UpdateBudgetAsync(ConsoleActor actor, Guid id, BudgetInput input, CancellationToken cancellationToken) =>
        SaveBudgetAsync(actor, id, input, cancellationToken);

    private async Task<Outcome<BudgetView>> SaveBudgetAsync(ConsoleActor actor, Guid? id, BudgetInput input, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        ValidateSubject(input.SubjectKind, input.SubjectId, errors);
        Require(input.Period, Vocabulary.Periods, "period", errors);
        Require(input.Action, Vocabulary.Actions, "action", errors);
        if (input.LimitWeightedTokens is null && input.LimitUsd is null)
        {
            errors["limitWeightedTokens"] = ["Give limitWeightedTokens, limitUsd, or both."];
        }
        if (input.LimitWeightedTokens is not null and not (> 0 and <= MaxLimit))
        {
            errors["limitWeightedTokens"] = [$"A whole number from 1 to {MaxLimit}."];
        }
        if (input.LimitUsd is { } usd && (usd <= 0 || usd > MaxLimit / 1_000_000m || decimal.Round(usd, 6) != usd))
        {
            errors["limitUsd"] = [$"More than 0 and at most {MaxLimit / 1_000_000m} US dollars, to the millionth."];
        }
        if (errors.Count > 0)
        {
            return new Outcome<BudgetView>.Invalid(errors);
        }
        var now = time.GetUtcNow().UtcDateTime;
        var row = new BudgetCap(id ?? Guid.CreateVersion7(), input.SubjectKind!, input.SubjectId!, input.Period!, input.LimitWeightedTokens,
            input.LimitUsd is { } dollars ? (long)(dollars * 1_000_000m) : null, input.Action!, input.Enabled ?? true, now, now);
        const string Insert = """
            INSERT INTO budget_caps (id, subject_kind, subject_id, period, limit_weighted_tokens, limit_micro_usd, action, enabled, created_at, updated_at)
            VALUES (@Id, @SubjectKind, @SubjectId, @Period, @LimitWeightedTokens, @LimitMicroUsd, @Action, @Enabled, @CreatedAt, @UpdatedAt)
            RETURNING created_at
            """;
        const string Update = """
            UPDATE budget_caps SET subject_kind = @SubjectKind, subject_id = @SubjectId, period = @Period, limit_weighted_tokens = @LimitWeightedTokens,
                limit_micro_usd = @LimitMicroUsd, action = @Action, enabled = @Enabled, updated_at = @UpdatedAt
            WHERE id = @Id RETURNING created_at
            """;
        var outcome = await WriteAsync(actor, id is null ? "budget.create" : "budget.update", "budget", row.Id, id is null ? Insert : Update, row,
            created => row with { CreatedAt = created }, "A budget for this subject and period exists already; change it instead.", cancellationToken);
        return outcome switch
        {
            Outcome<BudgetCap>.Done done => new Outcome<BudgetView>.Done(BudgetView.Of(done.Value)),
            Outcome<BudgetCap>.Invalid invalid => new Outcome<BudgetView>.Invalid(invalid.Errors),
            _ => new Outcome<BudgetView>.NotFound(),
        };
    }

    public Task<Outcome<LimitRule>> DeleteRuleAsync(ConsoleActor actor, Guid id, CancellationToken cancellationToken) =>
        DeleteAsync<LimitRule>(actor, "limit_rule", $"DELETE FROM rate_limit_rules WHERE id = @id RETURNING {RuleColumns}", id, cancellationToken);

    public async Task<Outcome<BudgetView>> DeleteBudgetAsync(ConsoleActor actor, Guid id, CancellationToken cancellationToken) =>
        await DeleteAsync<BudgetCap>(actor, "budget", $"DELETE FROM budget_caps WHERE id = @id RETURNING {BudgetColumns}", id, cancellationToken) is Outcome<BudgetCap>.Done done
            ? new Outcome<BudgetView>.Done(BudgetView.Of(done.Value))
            : new Outcome<BudgetView>.NotFound();

    private async Task<Outcome<T>> WriteAsync<T>(ConsoleActor actor, string action, string targetKind, Guid id, string sql, T row, Func<DateTime, T> stored, string duplicate,
        CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        DateTime? createdAt;
        try
        {
            createdAt = await connection.QuerySingleOrDefaultAsync<DateTime?>(new CommandDefinition(sql, row, tx, cancellationToken: cancellationToken));
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return new Outcome<T>.Invalid(new() { ["subjectId"] = [duplicate] });
        }
        if (createdAt is null)
        {
            return new Outcome<T>.NotFound();
        }
        var result = stored(createdAt.Value);
        await changes.CommitAsync(actor, LimitsChangedConsumer.LimitsArea, action, targetKind, id.ToString(), result, connection, tx, cancellationToken);
        return new Outcome<T>.Done(result);
    }

    private async Task<Outcome<T>> DeleteAsync<T>(ConsoleActor actor, string targetKind, string sql, Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<T>(new CommandDefinition(sql, new { id }, tx, cancellationToken: cancellationToken));
        if (row is null)
        {
            return new Outcome<T>.NotFound();
        }
        await changes.CommitAsync(actor, LimitsChangedConsumer.LimitsArea, $"{targetKind}.delete", targetKind, id.ToString(), row, connection, tx, cancellationToken);
        return new Outcome<T>.Done(row);
    }

    private static void ValidateSubject(string? kind, string? id, Dictionary<string, string[]> errors)
    {
        if (!Require(kind, Vocabulary.SubjectKinds.Keys, "subjectKind", errors))
        {
            return;
        }
        if (id == Vocabulary.EverySubject)
        {
            return;
        }
        var byGuid = kind is "user" or "api_key" or "team";
        if (byGuid ? !Guid.TryParse(id, out _) : string.IsNullOrWhiteSpace(id) || id.Length > 200 || id.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)))
        {
            errors["subjectId"] = [byGuid
                ? $"Required: the {kind}'s id (a UUID), or '*' for every {kind} separately."
                : $"Required: the {kind}'s name (1 to 200 characters, no spaces), or '*' for every {kind} separately."];
        }
    }

    private static bool Require(string? value, IEnumerable<string> allowed, string field, Dictionary<string, string[]> errors)
    {
        if (value is not null && allowed.Contains(value))
        {
            return true;
        }
        errors[field] = [$"Required: one of {string.Join(", ", allowed.Order(StringComparer.Ordinal))}."];
        return false;
    }
}
