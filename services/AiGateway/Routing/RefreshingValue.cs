using ThinkWatch.AiGateway.Conversion;

namespace ThinkWatch.AiGateway.Routing;

/// <summary>
/// A value loaded from elsewhere (Identity's vault, the model table) and held in memory:
/// reloaded after <c>interval</c> or once <see cref="Invalidate"/> is called (a change event),
/// one load at a time. A failed reload keeps serving the last good value; with none, the
/// request gets a 503 naming <c>what</c>.
/// </summary>
public sealed partial class RefreshingValue<T>(
    string what, Func<CancellationToken, Task<T>> load, Func<Exception, bool> transient, Func<TimeSpan> interval, TimeProvider time, ILogger logger) where T : class
{
    private readonly SemaphoreSlim _reload = new(1, 1);
    private T? _value;
    private DateTimeOffset _loadedAt;
    private volatile bool _stale = true;

    public void Invalidate() => _stale = true;

    public async ValueTask<T> GetAsync(CancellationToken cancellationToken)
    {
        if (Fresh() is { } current)
        {
            return current;
        }
        await _reload.WaitAsync(cancellationToken);
        try
        {
            // Another request may have reloaded while this one waited.
            if (Fresh() is { } reloaded)
            {
                return reloaded;
            }
            _stale = false;
            _value = await load(cancellationToken);
            _loadedAt = time.GetUtcNow();
            return _value;
        }
        catch (Exception ex) when (transient(ex))
        {
            _stale = true;
            if (_value is { } last)
            {
                LogReloadFailed(logger, what, ex.Message);
                return last;
            }
            throw new GatewayException(new GatewayError(ErrorKind.Overloaded, $"The gateway cannot load its {what} right now; try again shortly."));
        }
        finally
        {
            _reload.Release();
        }
    }

    private T? Fresh() => !_stale && time.GetUtcNow() - _loadedAt < interval() ? _value : null;

    [LoggerMessage(EventId = 4101, Level = LogLevel.Warning, Message = "Reloading the {What} failed ({Reason}); serving the last copy")]
    private static partial void LogReloadFailed(ILogger logger, string what, string reason);
}
