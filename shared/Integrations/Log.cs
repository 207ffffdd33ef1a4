using Microsoft.Extensions.Logging;

namespace ThinkWatch.Integrations;

internal static partial class Log
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Applied migration {Migration} to schema {Schema} in {ElapsedMs} ms")]
    public static partial void MigrationApplied(ILogger logger, string migration, string schema, long elapsedMs);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Schema {Schema} is up to date ({Count} migrations)")]
    public static partial void MigrationsUpToDate(ILogger logger, string schema, int count);


    [LoggerMessage(EventId = 1004, Level = LogLevel.Information, Message = "Created database {Database}")]
    public static partial void DatabaseCreated(ILogger logger, string database);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Critical, Message = "Migration {Migration} of schema {Schema} was changed after it was applied; refusing to start")]
    public static partial void MigrationEdited(ILogger logger, string migration, string schema);
}
