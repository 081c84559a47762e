namespace Worker.Audit;

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

    [LoggerMessage(EventId = 1403, Level = LogLevel.Error,
        Message = "Request {RequestId}: outcome NOT recorded: {Status} ({FailureReason}) by {Provider}/{Model} after {Calls} provider call(s), " +
                  "{InputTokens} input and {OutputTokens} output tokens, estimated {CostUsd} USD. The message goes to the error queue unacknowledged")]
    public static partial void OutcomeNotRecorded(ILogger logger, Guid requestId, string status, string? failureReason, string? provider, string? model,
        int calls, int? inputTokens, int? outputTokens, decimal? costUsd);

    [LoggerMessage(EventId = 1405, Level = LogLevel.Information,
        Message = "Request {RequestId}: the outcome had already been committed by an earlier try of the same write")]
    public static partial void OutcomeAlreadyRecorded(ILogger logger, Guid requestId);

    [LoggerMessage(EventId = 1406, Level = LogLevel.Warning,
        Message = "Request {RequestId}: audit {Write} write failed and is not retried: {Error}")]
    public static partial void WriteFailed(ILogger logger, Exception exception, Guid requestId, string write, string error);

    [LoggerMessage(EventId = 1407, Level = LogLevel.Warning,
        Message = "Request {RequestId}: another delivery stored its outcome first ({Status}); that result is published instead")]
    public static partial void OutcomeStoredBefore(ILogger logger, Guid requestId, string status);

    [LoggerMessage(EventId = 1408, Level = LogLevel.Warning,
        Message = "Request {RequestId}: its claim could not be released ({Error}); a redelivery waits for the lease to lapse")]
    public static partial void ClaimNotReleased(ILogger logger, Guid requestId, string error);
}
