using ThinkWatch.Identity.Auth;
using ThinkWatch.Identity.Extensions;
using ThinkWatch.Identity.Keys;
using ThinkWatch.Identity.Providers;
using ThinkWatch.Identity.Setup;
using ThinkWatch.Identity.Sso;
using ThinkWatch.Identity.Users;
using ThinkWatch.Security;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.UseForwardedHeaders();
app.MapDefaultEndpoints();
app.UseConsoleApi();
app.UseMiddleware<SetupGate>();
app.UseAuthentication();
app.UseAuthorization();

app.MapConsoleApiDocs();
app.MapSetupApi();
app.MapAuthApi();
app.MapSsoApi();
app.MapKeysApi();
app.MapUsersApi();
app.MapProvidersApi();
app.MapGrpcService<KeyGrpcService>();
app.MapGrpcService<ProviderVaultGrpcService>();

app.Run();
