namespace ThinkWatch.Console.Sessions;

/// <summary>Whether ThinkWatch still needs its setup (asked from Identity; once done, remembered: setup never reopens).</summary>
public sealed class SetupState(IServiceScopeFactory scopes)
{
    private volatile bool _done;

    public sealed record Status(bool Required);

    public async Task<bool?> IsRequiredAsync(CancellationToken cancellationToken)
    {
        if (_done)
        {
            return false;
        }
        using var scope = scopes.CreateScope();
        var api = scope.ServiceProvider.GetRequiredService<ConsoleApi>();
        var answer = await api.GetAnonymousAsync<Status>("/api/setup", cancellationToken);
        if (!answer.Succeeded || answer.Value is null)
        {
            return null;
        }
        _done = !answer.Value.Required;
        return answer.Value.Required;
    }

    public void MarkDone() => _done = true;
}

/// <summary>While setup is required, every page but the wizard sends the browser to the wizard.</summary>
public static class SetupRedirect
{
    private static readonly string[] Passthrough = ["/api", "/_framework", "/_content", "/_blazor", "/health", "/metrics", "/setup", "/culture"];

    public static IApplicationBuilder UseSetupRedirect(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var path = context.Request.Path;
        if (HttpMethods.IsGet(context.Request.Method) && !Path.HasExtension(path.Value)
            && !Passthrough.Any(p => path.StartsWithSegments(p, StringComparison.OrdinalIgnoreCase))
            && await context.RequestServices.GetRequiredService<SetupState>().IsRequiredAsync(context.RequestAborted) == true)
        {
            context.Response.Redirect("/setup");
            return;
        }
        await next(context);
    });
}
