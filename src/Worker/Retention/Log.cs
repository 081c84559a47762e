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
}
