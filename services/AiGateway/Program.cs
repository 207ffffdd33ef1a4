using ThinkWatch.AiGateway.Apis;
using ThinkWatch.AiGateway.Extensions;
using ThinkWatch.AiGateway.Models;
using ThinkWatch.Security;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.MapDefaultEndpoints();
app.UseConsoleApi();
app.UseAuthentication();
app.UseAuthorization();

app.MapChatApi();
app.MapModelsApi();
app.MapMcpForward();

app.Run();
