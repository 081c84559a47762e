namespace Worker.Requests;

internal static partial class Log
{
    [LoggerMessage(EventId = 2200, Level = LogLevel.Warning,
        Message = "A batch of {Count} {Write} could not be written ({Error}: {Message}); each is written on its own instead")]
    public static partial void BatchFailed(ILogger logger, string write, int count, string error, string message);

    [LoggerMessage(EventId = 1408, Level = LogLevel.Warning,
        Message = "Request {RequestId}: its claim could not be released ({Error}); a redelivery waits for the lease to lapse")]
    public static partial void ClaimNotReleased(ILogger logger, Guid requestId, string error);

    [LoggerMessage(EventId = 1407, Level = LogLevel.Warning,
        Message = "Request {RequestId}: another delivery stored its outcome first ({Status}); that result is published instead")]
    public static partial void OutcomeStoredBefore(ILogger logger, Guid requestId, string status);

    [LoggerMessage(EventId = 1403, Level = LogLevel.Error,
        Message = "Request {RequestId}: outcome NOT recorded: {Status} ({FailureReason}) by {Provider}/{Model} after {Calls} provider call(s), " +
                  "{InputTokens} input and {OutputTokens} output tokens, estimated {CostUsd} USD. The message goes to the error queue unacknowledged")]
    public static partial void OutcomeNotRecorded(ILogger logger, Guid requestId, string status, string? failureReason, string? provider, string? model,
        int calls, int? inputTokens, int? outputTokens, decimal? costUsd);

    [LoggerMessage(EventId = 1405, Level = LogLevel.Information,
        Message = "Request {RequestId}: the outcome had already been committed by an earlier try of the same write")]
    public static partial void OutcomeAlreadyRecorded(ILogger logger, Guid requestId);

    [LoggerMessage(EventId = 1310, Level = LogLevel.Warning, Message = "Claims of {Count} running request(s) not renewed: {Error}; trying again at the next tick")]
    public static partial void LeasesNotRenewed(ILogger logger, int count, string error);

    [LoggerMessage(EventId = 2100, Level = LogLevel.Information, Message = "Re-published {Count} deferred request(s) to {Queue}")]
    public static partial void Released(ILogger logger, int count, string queue);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Warning, Message = "Deferred requests could not be re-published; the next run tries again")]
    public static partial void ReleaseFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Error,
        Message = "Deferred request {RequestId} holds no readable message; looked at again in an hour")]
    public static partial void Unreadable(ILogger logger, Guid requestId);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Warning, Message = "Deferred requests could not be re-published ({Error}); the next run tries again")]
    public static partial void ReleaseUnavailable(ILogger logger, string error);
}
