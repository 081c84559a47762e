namespace Worker.Messaging;

internal static partial class Log
{
    [LoggerMessage(EventId = 1300, Level = LogLevel.Warning, Message = "Request {RequestId} is invalid: {Problem}")]
    public static partial void InvalidRequest(ILogger logger, Guid requestId, string problem);

    [LoggerMessage(EventId = 1301, Level = LogLevel.Warning, Message = "Request {RequestId} failed: {Reason} after {Attempts} provider call(s); parked for replay: {Parked}")]
    public static partial void RequestFailed(ILogger logger, Guid requestId, string reason, int attempts, bool parked);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Information, Message = "Consuming {Queue} on {Broker} with concurrency {Concurrency}, prefetch {Prefetch}")]
    public static partial void Consuming(ILogger logger, string queue, string broker, int concurrency, int prefetch);

    [LoggerMessage(EventId = 1303, Level = LogLevel.Information,
        Message = "Request {RequestId} is already {Status}: re-publishing its stored result, no provider called")]
    public static partial void RepublishingStoredResult(ILogger logger, Guid requestId, string status);

    [LoggerMessage(EventId = 1304, Level = LogLevel.Warning,
        Message = "Request {RequestId} is already {Status} but has no stored result (finished before results were kept): processed again")]
    public static partial void NoStoredResult(ILogger logger, Guid requestId, string status);
}
