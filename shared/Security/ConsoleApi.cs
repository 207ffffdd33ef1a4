using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Net.Http.Headers;
using Scalar.AspNetCore;

namespace ThinkWatch.Security;

/// <summary>
/// What every console area (/api/…) shares: an OpenAPI document and reference page, security
/// headers with a strict Content-Security-Policy, CORS only for the configured origins
/// (`Console:AllowedOrigins`, none by default: the console is served from the same origin), and
/// request bodies that refuse fields their contract lacks (<see cref="RequestBodies"/>).
/// </summary>
public static class ConsoleApiExtensions
{
    public const string OpenApiPath = "/api/openapi/{documentName}.json";
    public const string ReferencePath = "/api/reference";
    private const string CorsPolicy = "console";
    /// <summary>Management requests are small; anything bigger is refused before it is read.</summary>
    public const long MaxBodyBytes = 1024 * 1024;

    public static IHostApplicationBuilder AddConsoleApi(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOpenApi(o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = $"ThinkWatch {builder.Environment.ApplicationName.Replace("ThinkWatch.", "", StringComparison.Ordinal)} API";
            return Task.CompletedTask;
        }));
        var origins = builder.Configuration.GetSection("Console:AllowedOrigins").Get<string[]>() ?? [];
        builder.Services.AddCors(o => o.AddPolicy(CorsPolicy, p => p.WithOrigins(origins)
            .WithMethods("GET", "POST", "PUT", "PATCH", "DELETE").WithHeaders("Authorization", "Content-Type").SetPreflightMaxAge(TimeSpan.FromHours(1))));
        builder.Services.AddStrictRequestBodies();
        return builder;
    }

    /// <summary>Headers, CORS and the body limit for /api; call before the endpoints run.</summary>
    public static IApplicationBuilder UseConsoleApi(this IApplicationBuilder app)
    {
        app.UseCors(CorsPolicy);
        return app.Use(async (context, next) =>
        {
            if (context.Request.Path.StartsWithSegments("/api"))
            {
                // Added as the answer starts, not now: the exception handler clears headers set earlier, and a
                // forwarded answer already carries the owning service's (kept, not repeated).
                context.Response.OnStarting(AddSecurityHeaders, context);
                if (context.Request.ContentLength > MaxBodyBytes)
                {
                    await Results.Problem($"Request bodies on the console API are limited to {MaxBodyBytes / 1024} KiB.",
                        statusCode: StatusCodes.Status413PayloadTooLarge, title: "Request too large").ExecuteAsync(context);
                    return;
                }
                if (context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
                {
                    limit.MaxRequestBodySize = MaxBodyBytes;
                }
            }
            await next(context);
        });
    }

    private static Task AddSecurityHeaders(object state)
    {
        var context = (HttpContext)state;
        var headers = context.Response.Headers;
        headers.TryAdd(HeaderNames.XContentTypeOptions, "nosniff");
        headers.TryAdd(HeaderNames.XFrameOptions, "DENY");
        headers.TryAdd("Referrer-Policy", "no-referrer");
        headers.TryAdd(HeaderNames.CacheControl, "no-store");
        headers.TryAdd(HeaderNames.ContentSecurityPolicy, context.Request.Path.StartsWithSegments(ReferencePath)
            // The reference page runs Scalar's bundled script and styles, served from here.
            ? "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
            : "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
        return Task.CompletedTask;
    }

    /// <summary>The OpenAPI document at /api/openapi/v1.json and the reference page at /api/reference.</summary>
    public static IEndpointRouteBuilder MapConsoleApiDocs(this IEndpointRouteBuilder app)
    {
        app.MapOpenApi(OpenApiPath);
        app.MapScalarApiReference(ReferencePath, o => o.WithOpenApiRoutePattern(OpenApiPath).WithTitle("ThinkWatch API reference"));
        return app;
    }
}
