
namespace ThinkWatch.AppHost.Publish;

/// <summary>One environment variable of an infrastructure container: a literal or a key of the infra secret.</summary>
public sealed record InfraEnv(string Name, string? Value = null, string? SecretKey = null);

/// <summary>How each kind of backing server runs as a container (Kubernetes and compose alike).</summary>
public sealed record InfraSpec(string Image, string DataPath, IReadOnlyList<InfraEnv> Env, IReadOnlyList<string> Args, IReadOnlyList<string> ReadinessCommand)
{
    public const string SecretName = "thinkwatch-infra";

    public static InfraSpec For(InfraServer server) => server.Kind switch
    {
        InfraKind.Postgres => new("pgvector/pgvector:pg15", "/var/lib/postgresql/data",
            [new("POSTGRES_PASSWORD", SecretKey: "postgres-password"), new("PGDATA", "/var/lib/postgresql/data/pgdata")],
            [], ["pg_isready", "-U", "postgres"]),
        InfraKind.Redis => new("redis:7.2", "/data",
            [new("REDIS_PASSWORD", SecretKey: "redis-password")],
            ["redis-server", "--requirepass", "$(REDIS_PASSWORD)"], ["sh", "-c", "redis-cli -a \"$REDIS_PASSWORD\" --no-auth-warning ping | grep -q PONG"]),
        InfraKind.RabbitMQ => new("rabbitmq:3.13", "/var/lib/rabbitmq",
            [new("RABBITMQ_DEFAULT_USER", "thinkwatch"), new("RABBITMQ_DEFAULT_PASS", SecretKey: "rabbitmq-password")],
            [], ["rabbitmq-diagnostics", "-q", "ping"]),
        InfraKind.ClickHouse => new("clickhouse/clickhouse-server:24.8", "/var/lib/clickhouse",
            [new("CLICKHOUSE_USER", "default"), new("CLICKHOUSE_PASSWORD", SecretKey: "clickhouse-password")],
            [], ["sh", "-c", "wget -qO- http://127.0.0.1:8123/ping | grep -q Ok"]),
        _ => throw new ArgumentOutOfRangeException(nameof(server)),
    };

    /// <summary>The infra secret's keys, filled from the credentials of the context.</summary>
    public static Dictionary<string, string> SecretValues(InfraCredentials c) => new(StringComparer.Ordinal)
    {
        ["postgres-password"] = c.PostgresPassword,
        ["redis-password"] = c.RedisPassword ?? "",
        ["rabbitmq-password"] = c.RabbitPassword,
        ["clickhouse-password"] = c.ClickHousePassword,
    };
}
