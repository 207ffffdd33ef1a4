using ThinkWatch.McpGateway.Access;
using ThinkWatch.McpGateway.Credentials;
using ThinkWatch.McpGateway.Extensions;
using ThinkWatch.McpGateway.OAuth;
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
app.MapTemplatesApi();
app.MapGrantsApi();
app.MapConnectionsApi();
app.MapOAuthApi();
app.MapMcpGateway();

app.Run();
