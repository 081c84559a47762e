namespace Worker.Messaging;

internal static partial class Log
{
    [LoggerMessage(EventId = 1300, Level = LogLevel.Warning, Message = "Request {RequestId} is invalid: {Problem}")]
    public static partial void InvalidRequest(ILogger logger, Guid requestId, string problem);

    [LoggerMessage(EventId = 1301, Level = LogLevel.Warning, Message = "Request {RequestId} failed: {Reason} after {Attempts} provider call(s)")]
    public static partial void RequestFailed(ILogger logger, Guid requestId, string reason, int attempts);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Information, Message = "Consuming {Queue} on {Broker} with concurrency {Concurrency}, prefetch {Prefetch}")]
    public static partial void Consuming(ILogger logger, string queue, string broker, int concurrency, int prefetch);
}
