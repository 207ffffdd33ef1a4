using ThinkWatch.McpGateway.Extensions;
using ThinkWatch.McpGateway.Mcp;
using ThinkWatch.McpGateway.Servers;
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
app.MapServersApi();
app.MapMcpGateway();

app.Run();
