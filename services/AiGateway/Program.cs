using ThinkWatch.AiGateway.Apis;
using ThinkWatch.AiGateway.Extensions;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapChatApi();

app.Run();
