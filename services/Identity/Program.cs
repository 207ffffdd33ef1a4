using ThinkWatch.Identity.Extensions;
using ThinkWatch.Identity.Keys;
using ThinkWatch.Identity.Setup;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.MapDefaultEndpoints();
app.UseMiddleware<SetupGate>();

app.MapSetupApi();
app.MapGrpcService<KeyGrpcService>();

app.Run();
