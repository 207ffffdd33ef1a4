using ThinkWatch.AuditIngest.Analytics;
using ThinkWatch.AuditIngest.Extensions;
using ThinkWatch.AuditIngest.Forwarding;
using ThinkWatch.AuditIngest.Logs;
using ThinkWatch.Security;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.MapDefaultEndpoints();
app.UseConsoleApi();
app.UseAuthentication();
app.UseAuthorization();

app.MapConsoleApiDocs();
app.MapLogsApi();
app.MapForwardersApi();
app.MapAnalyticsApi();

app.Run();
