namespace Worker.Retention;

internal static partial class Log
{
    [LoggerMessage(EventId = 1700, Level = LogLevel.Information,
        Message = "Retention deleted {Requests} request(s) and {Attempts} attempt(s) completed before {Cutoff:O} ({Days} days)")]
    public static partial void Swept(ILogger logger, long requests, long attempts, DateTimeOffset cutoff, int days);

    [LoggerMessage(EventId = 1701, Level = LogLevel.Debug, Message = "Retention is off (Retention:Days = 0): nothing deleted")]
    public static partial void KeepForever(ILogger logger);

    [LoggerMessage(EventId = 1702, Level = LogLevel.Warning,
        Message = "Retention sweep stopped after deleting {Requests} request(s); the next run continues")]
    public static partial void SweepFailed(ILogger logger, Exception exception, long requests);

    [LoggerMessage(EventId = 1703, Level = LogLevel.Information,
        Message = "Retention deleted {Expired} response cache entr(ies) past their stale limit and {Trimmed} beyond LastResort:MaxCacheEntries {MaxEntries}")]
    public static partial void CacheSwept(ILogger logger, long expired, long trimmed, int maxEntries);

    [LoggerMessage(EventId = 1704, Level = LogLevel.Warning, Message = "Retention could not sweep the response cache; the next run tries again")]
    public static partial void CacheSweepFailed(ILogger logger, Exception exception);
}
