namespace Worker.Deferrals;

internal static partial class Log
{
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
