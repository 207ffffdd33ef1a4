using ThinkWatch.Quota.Apis;
using ThinkWatch.Quota.Extensions;
using ThinkWatch.Quota.Grpc;
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
app.MapLimitsApi();
app.MapGrpcService<QuotaGrpcService>();

app.Run();
