using ThinkWatch.Console.Components;
using ThinkWatch.Console.Extensions;
using ThinkWatch.Console.Forwarding;
using ThinkWatch.Console.Security;
using ThinkWatch.Console.Sessions;
using ThinkWatch.Security;

var builder = WebApplication.CreateBuilder(args);

// The UI's files (blazor.web.js, Fluent UI's) from the build output too, not only when published.
builder.WebHost.UseStaticWebAssets();
builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.MapDefaultEndpoints();
app.UseConsoleHeaders();
app.UseConsoleApi();
app.UseRequestLocalization();
app.UseSetupRedirect();
app.UseAuthentication();
app.UseAuthorization();
app.UseAntiforgery();

app.MapStaticAssets();
app.MapApiForwarding();
app.MapSessionEndpoints();
// Blazor would send its own "frame-ancestors 'self'" policy; ConsoleHeaders sends the whole one (frame-ancestors 'none').
app.MapRazorComponents<App>().AddInteractiveServerRenderMode(o => o.ContentSecurityFrameAncestorsPolicy = null);

app.Run();
