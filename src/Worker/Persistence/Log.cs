namespace Worker.Persistence;

internal static partial class Log
{
    [LoggerMessage(EventId = 1400, Level = LogLevel.Warning,
        Message = "Request {RequestId}: audit {Write} write failed ({Error}); retrying in {DelayMs} ms ({ElapsedMs} ms so far)")]
    public static partial void WriteRetrying(ILogger logger, Guid requestId, string write, string error, long delayMs, long elapsedMs);

    [LoggerMessage(EventId = 1401, Level = LogLevel.Information,
        Message = "Request {RequestId}: audit {Write} write succeeded on try {Tries}")]
    public static partial void WriteRecovered(ILogger logger, Guid requestId, string write, int tries);

    [LoggerMessage(EventId = 1402, Level = LogLevel.Error,
        Message = "Request {RequestId}: audit {Write} write still failing after {ElapsedMs} ms (Audit:WriteRetryFor): PostgreSQL is down. " +
                  "The message stays unacknowledged, an outcome stays in memory, and the write is retried until PostgreSQL answers")]
    public static partial void WriteStillFailing(ILogger logger, Exception exception, Guid requestId, string write, long elapsedMs);

    [LoggerMessage(EventId = 1406, Level = LogLevel.Warning,
        Message = "Request {RequestId}: audit {Write} write failed and is not retried: {Error}")]
    public static partial void WriteFailed(ILogger logger, Exception exception, Guid requestId, string write, string error);
}
