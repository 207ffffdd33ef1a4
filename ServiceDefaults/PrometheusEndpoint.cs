using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Prometheus;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// /metrics in the Prometheus text format (prometheus-net): HTTP request counts and duration
/// histograms by endpoint and status, and every System.Diagnostics.Metrics instrument of the
/// service (ThinkWatch.* meters: tokens, refusals, breaker state, spool depth, ingestion,
/// forwarding …) through prometheus-net's meter adapter. Mounted only when METRICS_BEARER_TOKEN is
/// set, and answering only requests that carry it as a bearer token.
/// </summary>
public static class PrometheusEndpoint
{
    public const string TokenVariable = "METRICS_BEARER_TOKEN";
    public const string Path = "/metrics";
    public const int MinTokenLength = 16;

    public static WebApplication MapPrometheusMetrics(this WebApplication app)
    {
        if (app.Configuration[TokenVariable] is not { Length: > 0 } token)
        {
            return app;
        }
        if (token.Length < MinTokenLength)
        {
            throw new InvalidOperationException($"{TokenVariable} must be at least {MinTokenLength} characters.");
        }
        var expected = SHA256.HashData(Encoding.UTF8.GetBytes(token));
        app.UseHttpMetrics();
        // prometheus-net starts listening to .NET meters at its first collection; without this, what
        // was counted before the first scrape would be missing.
        Metrics.DefaultRegistry.CollectAndExportAsTextAsync(Stream.Null).GetAwaiter().GetResult();
        app.MapGet(Path, async context =>
        {
            var header = context.Request.Headers.Authorization.ToString();
            var given = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : "";
            if (!CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), expected))
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                context.Response.Headers.WWWAuthenticate = "Bearer";
                return;
            }
            context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            await Metrics.DefaultRegistry.CollectAndExportAsTextAsync(context.Response.Body, context.RequestAborted);
        }).ExcludeFromDescription();
        return app;
    }
}
