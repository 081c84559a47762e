namespace Worker.DeadLetters;

internal static partial class Log
{
    [LoggerMessage(EventId = 2000, Level = LogLevel.Information,
        Message = "Dead-letter {Kind} {OperationId} recorded for {Who}: {Selected} item(s) selected by {Selection}")]
    public static partial void OperationRecorded(ILogger logger, string kind, Guid operationId, string who, int selected, string selection);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information,
        Message = "Replay {OperationId} (by {Who}) running onto chain {Chain} at {PerSecond} request(s)/s")]
    public static partial void ReplayRunning(ILogger logger, Guid operationId, string who, string chain, double perSecond);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Replay {OperationId}: sent request {RequestId} to chain {Chain}")]
    public static partial void ItemReplayed(ILogger logger, Guid operationId, Guid requestId, string chain);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "Replay {OperationId}: skipped {DeadLetterId}: {Why}")]
    public static partial void ItemSkipped(ILogger logger, Guid operationId, Guid deadLetterId, string why);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Information, Message = "Replay {OperationId} finished: {Done} sent, {Skipped} skipped")]
    public static partial void ReplayFinished(ILogger logger, Guid operationId, int done, int skipped);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Warning, Message = "Replay runner stopped by a failure; resuming in {Seconds} s")]
    public static partial void RunnerFailed(ILogger logger, Exception exception, double seconds);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Information, Message = "Ingesting {Queue} on {Broker} into the dead-letter store")]
    public static partial void IngestingErrorQueue(ILogger logger, string queue, string broker);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Warning, Message = "Cannot consume {Queue}; trying again in {Seconds} s")]
    public static partial void ErrorQueueUnavailable(ILogger logger, Exception exception, string queue, double seconds);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Warning,
        Message = "Parked {DeadLetterId} from the error queue: {Reason} ({ExceptionType}), request {RequestId}")]
    public static partial void Ingested(ILogger logger, Guid deadLetterId, string reason, string? exceptionType, Guid? requestId);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Error,
        Message = "Error queue message {MessageId} could not be stored; handed back to the queue in {Seconds} s")]
    public static partial void IngestFailed(ILogger logger, Exception exception, string? messageId, double seconds);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Information,
        Message = "Automatic replay: chain {Chain} is healthy again; replaying {Count} parked request(s) as operation {OperationId}")]
    public static partial void AutoReplayStarted(ILogger logger, string chain, int count, Guid operationId);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Information,
        Message = "Dead-letter retention deleted {Count} resolved item(s) resolved before {Cutoff:O} ({Days} days)")]
    public static partial void RetentionSwept(ILogger logger, long count, DateTimeOffset cutoff, int days);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Warning,
        Message = "Parked {DeadLetterId} from the error queue as unreadable (message {MessageId}): {Error}")]
    public static partial void IngestedUnreadable(ILogger logger, Guid deadLetterId, string? messageId, string? error);

    [LoggerMessage(EventId = 2013, Level = LogLevel.Error,
        Message = "PostgreSQL refused dead letter {DeadLetterId} ({Reason}) of error queue message {MessageId}; storing it with less of the message")]
    public static partial void RowRefused(ILogger logger, Exception exception, Guid deadLetterId, string reason, string? messageId);

    [LoggerMessage(EventId = 2020, Level = LogLevel.Information,
        Message = "Replay {OperationId}: every step of chain {Chain} is unavailable (breakers open) until {Until:O}; waiting, then one request goes first as the probe")]
    public static partial void ReplayWaitingForChain(ILogger logger, Guid operationId, string chain, DateTimeOffset until);

    [LoggerMessage(EventId = 2021, Level = LogLevel.Information,
        Message = "Replay {OperationId}: probe request {RequestId} ended {Status}; the rest of the selection follows only once a step of its chain may be called")]
    public static partial void ReplayProbeEnded(ILogger logger, Guid operationId, Guid requestId, string status);
}
