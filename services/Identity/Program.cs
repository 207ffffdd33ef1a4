using ThinkWatch.Identity.Auth;
using ThinkWatch.Identity.Extensions;
using ThinkWatch.Identity.Keys;
using ThinkWatch.Identity.Setup;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.UseForwardedHeaders();
app.MapDefaultEndpoints();
app.UseMiddleware<SetupGate>();

app.MapSetupApi();
app.MapAuthApi();
app.MapKeysApi();
app.MapGrpcService<KeyGrpcService>();

app.Run();
