using Microsoft.Extensions.Logging;

namespace ThinkWatch.Integrations;

/// <summary>
/// A value loaded from elsewhere (Identity's vault, the model table) and held in memory:
/// reloaded after <c>interval</c> or once <see cref="Invalidate"/> is called (a change event),
/// one load at a time. A failed reload keeps serving the last good value; with none, the
/// caller gets the exception <c>unavailable</c> makes (its own "try again shortly" error).
/// </summary>
public sealed partial class RefreshingValue<T>(
    string what, Func<CancellationToken, Task<T>> load, Func<Exception, bool> transient, Func<TimeSpan> interval, TimeProvider time, ILogger logger,
    Func<string, Exception> unavailable) where T : class
{
    private readonly SemaphoreSlim _reload = new(1, 1);
    private T? _value;
    private DateTimeOffset _loadedAt;
    // Invalidate bumps the version; a load records the version it started from. Callers wait for a
    // load in progress rather than take the copy it replaces: after a change, nobody sees the old one.
    private long _version;
    private long _loadedVersion = -1;

    public void Invalidate() => Interlocked.Increment(ref _version);

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
            var version = Interlocked.Read(ref _version);
            var value = await load(cancellationToken);
            _value = value;
            _loadedAt = time.GetUtcNow();
            Interlocked.Exchange(ref _loadedVersion, version);
            return value;
        }
        catch (Exception ex) when (transient(ex))
        {
            if (_value is { } last)
            {
                LogReloadFailed(logger, what, ex.Message);
                return last;
            }
            throw unavailable(what);
        }
        finally
        {
            _reload.Release();
        }
    }

    private T? Fresh() =>
        Interlocked.Read(ref _loadedVersion) == Interlocked.Read(ref _version) && time.GetUtcNow() - _loadedAt < interval() ? _value : null;

    [LoggerMessage(EventId = 4101, Level = LogLevel.Warning, Message = "Reloading the {What} failed ({Reason}); serving the last copy")]
    private static partial void LogReloadFailed(ILogger logger, string what, string reason);
}
