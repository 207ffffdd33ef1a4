using System.Net;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;
using ThinkWatch.Contracts.Events;
using ThinkWatch.Identity.Admin;
using ThinkWatch.Identity.Auth;
using ThinkWatch.Identity.Keys;
using ThinkWatch.Identity.Maintenance;
using ThinkWatch.Identity.Passwords;
using ThinkWatch.Identity.Providers;
using ThinkWatch.Identity.Setup;
using ThinkWatch.Identity.Sso;
using ThinkWatch.Identity.Users;
using ThinkWatch.Integrations;
using ThinkWatch.Security;

namespace ThinkWatch.Identity.Extensions;

public static class Extensions
{
    public const string DatabaseName = "identitydb";
    public const string Schema = "identity";
    public const string BusName = "rabbitmq";

    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<IdentityOptions>()
            .BindConfiguration(IdentityOptions.Section)
            .ValidateDataAnnotations()
            .Validate(o => o.TrustedProxies.All(p => IPAddress.TryParse(p, out _)), "Identity:TrustedProxies must hold IP addresses.")
            .ValidateOnStart();

        builder.AddPostgresDataSource(DatabaseName, Schema);
        builder.AddPostgresMigrations(Schema, typeof(Extensions).Assembly);
        builder.AddConsoleAuthentication();
        builder.AddRabbitMqBus(BusName);
        builder.AddPostgresOutbox(typeof(KeyChanged), typeof(KeyRevoked), typeof(AdminActionRecorded), typeof(ConfigChanged), typeof(KeyExpiring));
        builder.AddSecretBox();
        builder.Services.AddSingleton<ProviderManagement>();
        builder.AddInternalGrpc();
        builder.AddConsoleApi();

        builder.Services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<IdentityOptions>>().Value;
            return new PasswordHasher(o.PasswordHashMemoryKib, o.PasswordHashIterations);
        });
        builder.Services.AddSingleton<ApiKeyStore>();
        builder.Services.AddSingleton<KeyValidator>();
        builder.Services.AddSingleton<UserStore>();
        builder.Services.AddSingleton<SetupStatus>();
        builder.Services.AddSingleton<SetupService>();
        builder.Services.AddSingleton<SetupGate>();
        builder.Services.AddSingleton<LoginThrottle>();
        builder.Services.AddSingleton<SessionService>();
        builder.Services.AddSingleton<AuditTrail>();
        builder.Services.AddSingleton<KeyManagement>();
        builder.Services.AddSingleton<UserManagement>();
        builder.Services.AddSingleton<TeamManagement>();
        builder.Services.AddOptions<SsoOptions>().BindConfiguration(SsoOptions.Section)
            .Validate(o => o.Providers.Values.All(p => Uri.TryCreate(p.Authority, UriKind.Absolute, out _) && Uri.TryCreate(p.RedirectUri, UriKind.Absolute, out _)),
                "Identity:Sso:Providers:*: Authority and RedirectUri must be absolute URLs.")
            .ValidateOnStart();
        builder.Services.AddHttpClient("sso", c => c.Timeout = TimeSpan.FromSeconds(15));
        builder.Services.AddSingleton<SsoService>();
        builder.Services.AddSingleton<IdentityMaintenance>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<IdentityMaintenance>());

        // Access tokens of sessions that were signed out or revoked stop working here at once.
        builder.Services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme).PostConfigure<SessionService>((jwt, sessions) =>
            jwt.Events = new JwtBearerEvents
            {
                OnTokenValidated = async context =>
                {
                    if (context.Principal?.SessionIdOf() is not { } session || !await sessions.IsActiveAsync(session, context.HttpContext.RequestAborted))
                    {
                        context.Fail("The session has ended.");
                    }
                },
            });
        builder.Services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<IdentityOptions>>((forwarded, identity) =>
        {
            forwarded.ForwardedHeaders = ForwardedHeaders.XForwardedFor;
            forwarded.KnownProxies.Clear();
            forwarded.KnownIPNetworks.Clear();
            foreach (var proxy in identity.Value.TrustedProxies)
            {
                forwarded.KnownProxies.Add(IPAddress.Parse(proxy));
            }
        });
        return builder;
    }
}
