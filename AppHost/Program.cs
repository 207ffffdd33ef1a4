// ThinkWatch's application model: every resource, who references whom, start order and ports.
// `dotnet run --project AppHost` runs it all here with the Aspire dashboard; publishing
// (`-- --operation publish --step publish --output-path out`) writes Kubernetes manifests,
// a Helm chart or a compose file for the same model. Adding a service is one edit here.
using Microsoft.Extensions.DependencyInjection;
using ThinkWatch.AppHost.Local;
using ThinkWatch.AppHost.Publish;

var builder = DistributedApplication.CreateBuilder(DashboardDefaults.Apply(args));

// Debian's servers as processes (no Docker here), data under DATA/infra.
var postgres = builder.AddLocalPostgres("postgres", port: 15432);
var identityDb = postgres.AddDatabase("identitydb");
var quotaDb = postgres.AddDatabase("quotadb");
var mcpDb = postgres.AddDatabase("mcpgatewaydb");
var gatewayDb = postgres.AddDatabase("aigatewaydb");
var auditDb = postgres.AddDatabase("auditdb");
var redis = builder.AddLocalRedis("redis", port: 16379);
var rabbitmq = builder.AddLocalRabbitMq("rabbitmq", port: 15672);
var clickhouse = builder.AddLocalClickHouse("clickhouse", port: 18123, database: "thinkwatch");

// Identity signs console access tokens with it; every service validates them locally.
var consoleSigningKey = builder.AddGeneratedSecret("console-signing-key");
// Encrypts provider credentials in Identity's vault, forwarders' signing secrets and users' MCP credentials (AES-256-GCM); losing it loses them.
var vaultKey = builder.AddGeneratedSecret("vault-key");
// Carried by service-to-service gRPC calls (key validation, provider credentials, quota).
var internalToken = builder.AddGeneratedSecret("internal-token");

var auditIngest = builder.AddProject<Projects.AuditIngest>("auditingest")
    .WithServiceEndpoint("http", 13140)
    .WithLocalRunDefaults()
    .WithEnvironment("ConsoleAuth__SigningKey", consoleSigningKey)
    .WithEnvironment("InternalAuth__Token", internalToken)
    .WithEnvironment("Vault__Keys__1", vaultKey)
    .WithReference(auditDb).WaitFor(auditDb)
    .WithReference(rabbitmq).WaitFor(rabbitmq)
    .WithReference(clickhouse).WaitFor(clickhouse)
    .WithServiceProbes();

var quota = builder.AddProject<Projects.Quota>("quota")
    .WithServiceEndpoint("http", 13120)
    .WithServiceEndpoint("grpc", 13121, http2: true)
    .WithLocalRunDefaults()
    .WithEnvironment("ConsoleAuth__SigningKey", consoleSigningKey)
    .WithEnvironment("InternalAuth__Token", internalToken)
    .WithReference(quotaDb).WaitFor(quotaDb)
    .WithReference(redis).WaitFor(redis)
    .WithReference(rabbitmq).WaitFor(rabbitmq)
    .WithServiceProbes();
// Budgets for analytics (asked on demand, so no wait).
auditIngest.WithReference(quota);

var identity = builder.AddProject<Projects.Identity>("identity")
    .WithServiceEndpoint("http", 13110)
    .WithServiceEndpoint("grpc", 13111, http2: true)
    .WithLocalRunDefaults()
    .WithEnvironment("ConsoleAuth__SigningKey", consoleSigningKey)
    .WithEnvironment("InternalAuth__Token", internalToken)
    .WithEnvironment("Vault__Keys__1", vaultKey)
    .WithReference(identityDb).WaitFor(identityDb)
    .WithReference(rabbitmq).WaitFor(rabbitmq)
    .WithServiceProbes();

// The console origin (:3001): the web console, and every /api area forwarded to the service that owns it.
var console = builder.AddProject<Projects.Console>("console")
    .WithServiceEndpoint("http", 3001, isExternal: true)
    .WithLocalRunDefaults()
    // Checks the access tokens it keeps for browser sessions.
    .WithEnvironment("ConsoleAuth__SigningKey", consoleSigningKey)
    .WithReference(identity).WaitFor(identity)
    .WithServiceProbes();

var mcpGateway = builder.AddProject<Projects.McpGateway>("mcpgateway")
    .WithServiceEndpoint("http", 13130)
    .WithLocalRunDefaults()
    // Authorize links, OAuth redirect URIs and connect links point at the console this run really serves.
    .WithPublicUrl("McpGateway__ConsoleUrl", console)
    .WithEnvironment("ConsoleAuth__SigningKey", consoleSigningKey)
    .WithEnvironment("InternalAuth__Token", internalToken)
    .WithEnvironment("Vault__Keys__1", vaultKey)
    .WithReference(mcpDb).WaitFor(mcpDb)
    .WithReference(redis).WaitFor(redis)
    .WithReference(rabbitmq).WaitFor(rabbitmq)
    .WithReference(identity).WaitFor(identity)
    .WithReference(quota).WaitFor(quota)
    .WithServiceProbes();

// The public edge (:3000): /v1/* and /mcp (forwarded to the MCP gateway). Served by the gateway itself, never proxied.
var aiGateway = builder.AddProject<Projects.AiGateway>("aigateway")
    .WithServiceEndpoint("http", 3000, isExternal: true)
    .WithLocalRunDefaults()
    .WithEnvironment("ConsoleAuth__SigningKey", consoleSigningKey)
    .WithEnvironment("InternalAuth__Token", internalToken)
    .WithReference(gatewayDb).WaitFor(gatewayDb)
    .WithReference(rabbitmq).WaitFor(rabbitmq)
    .WithReference(identity).WaitFor(identity)
    .WithReference(quota).WaitFor(quota)
    .WithReference(mcpGateway).WaitFor(mcpGateway)
    .WithServiceProbes();

// The console forwards /api/limits, /api/pricing, /api/mcp, /api/logs, /api/models … to the services that own
// them (references only: the console is up as soon as Identity is, for setup and sign-in).
console
    .WithReference(quota)
    .WithReference(mcpGateway)
    .WithReference(auditIngest)
    .WithReference(aiGateway);

builder.AddRunLock();
builder.AddManifestPublishing();

var app = builder.Build();
if (builder.Configuration["echo-resource-logs"] is "true")
{
    var logs = app.Services.GetRequiredService<ResourceLoggerService>();
    var notifications = app.Services.GetRequiredService<ResourceNotificationService>();
    foreach (var resource in app.Services.GetRequiredService<DistributedApplicationModel>().Resources.OfType<ProjectResource>())
    {
        _ = Task.Run(async () =>
        {
            // A project's log lives under its DCP name (auditingest-xxxxxxxx), known only once DCP has prepared it:
            // WatchAsync(resource) here, before the run, would watch "auditingest" and see nothing.
            var first = await notifications.WaitForResourceAsync(resource.Name, _ => true);
            await foreach (var batch in logs.WatchAsync(first.ResourceId))
            {
                foreach (var line in batch)
                {
                    Console.WriteLine($"[{resource.Name}] {line.Content}");
                }
            }
        });
    }
}
try
{
    app.Run();
}
catch (Exception ex) when (RunLockExtensions.IsRunLocked(ex, out var refusal))
{
    // A second run on the same data folder: say so plainly and exit 3, without a stack trace.
    Console.Error.WriteLine(refusal);
    return 3;
}
// A failed publish step sets it (Aspire logs the failure and stops the host without failing Run).
return Environment.ExitCode;
